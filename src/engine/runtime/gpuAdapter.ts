// Whether WebGPU would find a real GPU. onnxruntime-node does not say which adapter Dawn picked,
// and Mesa installs its software Vulkan driver (lavapipe) beside the hardware ones, so on Linux
// the question is asked of the devices instead: a hardware Vulkan driver needs a DRM render
// node (AMD, Intel, virtio) or an NVIDIA device file. Without one, any adapter is software.
import * as fs from 'fs';

export interface DeviceFiles {
  /** Names in /dev/dri (absent: empty). */
  dri: readonly string[];
  /** Names in /dev. */
  dev: readonly string[];
}

function readDevices(): DeviceFiles {
  const list = (dir: string): string[] => {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  };
  return { dri: list('/dev/dri'), dev: list('/dev') };
}

/**
 * Why WebGPU here would run on a software adapter, or undefined when a GPU may be there. On
 * Windows and macOS the system's adapter is taken to be a GPU (WARP and the like are a
 * last resort there, not the default).
 */
export function softwareAdapterReason(platform: NodeJS.Platform = process.platform, devices: () => DeviceFiles = readDevices): string | undefined {
  if (platform !== 'linux') return undefined;
  const { dri, dev } = devices();
  if (dri.some((n) => /^renderD\d+$/.test(n)) || dev.some((n) => /^nvidia\d+$/.test(n))) return undefined;
  return 'no GPU device here (no /dev/dri/renderD* or /dev/nvidia*): WebGPU would run on a software Vulkan driver such as lavapipe, slower than the CPU provider. Set "overfill.executionProvider" to "webgpu" to use it anyway';
}
