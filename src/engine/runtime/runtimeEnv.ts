// The engine process's environment variable naming the onnxruntime-node package folder to load
// (a CUDA runtime set up in global storage). Apart from ortBinding.ts, which loads the native
// binding on import: the extension host sets this variable and must never load the binding.
export const ORT_PATH_ENV = 'OVERFILL_ORT_PATH';
