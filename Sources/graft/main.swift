import Torch
print("graft (Torch \(Torch.version)), threads \(Torch.numThreads), cuda: \(CUDA.isAvailable)")
let x = Tensor([1.0, 2.0, 3.0] as [Float]).requiresGrad()
let y = (x * x).sum()
y.backward()
print(x.grad!.toArray(Float.self))
