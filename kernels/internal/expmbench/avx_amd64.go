package main

import "golang.org/x/sys/cpu"

func avx() string {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return "avx2+fma"
	}
	return "none"
}
