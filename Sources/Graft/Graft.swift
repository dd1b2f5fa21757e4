// Graft: transfer learning for Swift, on PyTorch's own engine.
//
// `import Graft` gives every public module; each can also be imported alone:
// Torch (tensors, autograd) → NN (modules, layers, losses) → Optimizers (torch.optim) /
// Vision (the zoo's architectures) / ImageData (datasets, transforms, the loader) →
// Pretrained (weight catalogues and the store) → Transfer (the training core) → Reports;
// Transferability (measures on feature matrices) on Torch alone.
// Checkpoints (safetensors, .pth) and ImageCodecs (JPEG/PNG) stand apart.
@_exported import Checkpoints
@_exported import ImageCodecs
@_exported import ImageData
@_exported import NN
@_exported import Optimizers
@_exported import Pretrained
@_exported import Reports
@_exported import Torch
@_exported import Transfer
@_exported import Transferability
@_exported import Vision
