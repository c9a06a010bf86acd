package kernels

// Mask returns the MASK state, or soft.NoToken when the kernel has none.
func (k *Uniform) Mask() int32 { return k.mask }

// Mask returns the MASK state.
func (k *InfoAbsorbing) Mask() int32 { return k.mask }

// Mask returns the MASK state, or soft.NoToken when the kernel has none.
func (g *Graph) Mask() int32 { return g.mask }

// Schedule returns the kernel's schedule.
func (g *Graph) Schedule() Schedule { return g.sched }

// Mask returns the MASK state, or soft.NoToken when the kernel has none.
func (k *Hierarchical) Mask() int32 { return k.mask }

// Schedule returns the kernel's schedule.
func (k *Hierarchical) Schedule() Schedule { return k.sched }
