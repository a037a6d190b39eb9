// The profile runs the binary named after the rock, so the module path ends with its name.
module hello-go

go 1.19
