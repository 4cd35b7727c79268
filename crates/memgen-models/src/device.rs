//! Acquiring compute devices: WebGPU (or native wgpu) first, a CPU backend otherwise.

use burn::tensor::Device;

/// Which backend a [`LabDevice`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// burn's wgpu runtime (WebGPU in a browser).
    Gpu,
    /// burn's ndarray CPU backend (inside wasm in the browser fallback).
    Cpu,
}

/// A burn device and the wgpu handles behind it, when there are any.
#[derive(Clone)]
pub struct LabDevice {
    /// burn device with autodiff enabled, for training.
    pub device: Device,
    /// Backend kind.
    pub kind: BackendKind,
    /// The wgpu instance, adapter, device and queue burn uses (GPU only), so the
    /// lab's own WGSL kernels share them.
    pub wgpu: Option<burn::tensor::wgpu::WgpuSetup>,
}

impl std::fmt::Debug for LabDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabDevice").field("kind", &self.kind).finish()
    }
}

impl LabDevice {
    /// Initializes burn's wgpu runtime asynchronously (the only way in a browser).
    pub async fn gpu() -> Result<LabDevice, String> {
        let (device, setup) = Device::wgpu_options().init_with_setup_async().await.map_err(|e| e.to_string())?;
        Ok(LabDevice { device: device.autodiff(), kind: BackendKind::Gpu, wgpu: Some(setup) })
    }

    /// burn's CPU backend: ndarray in the browser (one thread; burn 0.22's flex backend is not
    /// built for wasm32 here), flex natively (all cores; what `memgen` trains on).
    pub fn cpu() -> LabDevice {
        #[cfg(target_arch = "wasm32")]
        #[allow(deprecated)] // burn 0.22 suggests Device::flex(), which the browser build does not enable
        let device = Device::ndarray();
        #[cfg(not(target_arch = "wasm32"))]
        let device = Device::flex();
        LabDevice { device: device.autodiff(), kind: BackendKind::Cpu, wgpu: None }
    }

    /// The adapter's own description (`"cpu (ndarray)"` for the browser's CPU backend, `"cpu (flex)"` natively). In a
    /// browser wgpu fills only `name`, from `GPUAdapterInfo.description`.
    pub fn describe(&self) -> String {
        match &self.wgpu {
            Some(setup) => {
                let info = setup.adapter.get_info();
                let parts: Vec<&str> = [info.name.as_str(), info.driver.as_str(), info.driver_info.as_str()].into_iter().filter(|s| !s.is_empty()).collect();
                if parts.is_empty() {
                    format!("{:?}", info.device_type)
                } else {
                    parts.join(" · ")
                }
            }
            None if cfg!(target_arch = "wasm32") => "cpu (ndarray)".to_string(),
            None => "cpu (flex)".to_string(),
        }
    }
}
