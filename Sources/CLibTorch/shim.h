// CLibTorch only carries libtorch's compiler and linker flags (from the
// pkg-config file graft-libtorch.pc) to the CTorch target; it exposes nothing.
