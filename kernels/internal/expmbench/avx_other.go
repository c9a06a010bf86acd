//go:build !amd64

package main

func avx() string { return "none" }
