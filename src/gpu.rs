//! The lab's own WGSL kernels (`shaders/`), run on the wgpu device that burn uses.
//!
//! Pipelines are built once ([`Kernels::new`]); each call uploads its inputs, submits,
//! and reads back asynchronously (never a blocking readback: browsers forbid it).

use std::borrow::Cow;

use wgpu::util::DeviceExt;

/// Energy, range and colour kernels: `shaders/energy.wgsl`.
const ENERGY_WGSL: &str = include_str!("../shaders/energy.wgsl");
/// Retrieval (basin map) kernel: `shaders/retrieve.wgsl`.
const RETRIEVE_WGSL: &str = include_str!("../shaders/retrieve.wgsl");

/// What the energy kernels draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridSpec {
    /// `[cx, cy, half]` of the square view.
    pub view: [f64; 3],
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// Inverse temperature β.
    pub beta: f64,
    /// 0 = dot-product energy, 1 = distance energy.
    pub form: u32,
    /// Number of contour levels.
    pub levels: u32,
}

/// One rendered frame: RGBA pixels and, on request, the raw energies.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// `width·height·4` bytes, row 0 at the top.
    pub rgba: Vec<u8>,
    /// The energies, when asked for.
    pub energies: Option<Vec<f32>>,
}

/// Compiled pipelines and the device/queue they run on.
pub struct Kernels {
    device: wgpu::Device,
    queue: wgpu::Queue,
    energy_layout: wgpu::BindGroupLayout,
    energy: wgpu::ComputePipeline,
    range: wgpu::ComputePipeline,
    colour: wgpu::ComputePipeline,
    retrieve_layout: wgpu::BindGroupLayout,
    retrieve: wgpu::ComputePipeline,
}

fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Storage { read_only }, has_dynamic_offset: false, min_binding_size: None },
        count: None,
    }
}

fn uniform(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Uniform, has_dynamic_offset: false, min_binding_size: None },
        count: None,
    }
}

impl Kernels {
    /// Compiles the shaders on `device`.
    pub fn new(device: wgpu::Device, queue: wgpu::Queue) -> Kernels {
        let energy_module = device
            .create_shader_module(wgpu::ShaderModuleDescriptor { label: Some("energy.wgsl"), source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(ENERGY_WGSL)) });
        let retrieve_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("retrieve.wgsl"),
            source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(RETRIEVE_WGSL)),
        });
        let energy_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("energy bind group layout"),
            entries: &[uniform(0), storage(1, true), storage(2, false), storage(3, false), storage(4, false)],
        });
        let retrieve_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("retrieve bind group layout"),
            entries: &[uniform(0), storage(1, true), storage(2, false)],
        });
        let pipeline = |label: &str, layout: &wgpu::BindGroupLayout, module: &wgpu::ShaderModule, entry: &str| {
            let pl =
                device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor { label: Some(label), bind_group_layouts: &[Some(layout)], immediate_size: 0 });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: Some(&pl),
                module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let energy = pipeline("energy pipeline", &energy_layout, &energy_module, "energy_main");
        let range = pipeline("range pipeline", &energy_layout, &energy_module, "range_main");
        let colour = pipeline("colour pipeline", &energy_layout, &energy_module, "colour_main");
        let retrieve = pipeline("retrieve pipeline", &retrieve_layout, &retrieve_module, "retrieve_main");
        Kernels { device, queue, energy_layout, energy, range, colour, retrieve_layout, retrieve }
    }

    fn memories_buffer(&self, memories: &[[f64; 2]]) -> wgpu::Buffer {
        // A zero-length storage binding is invalid: pad with one unused entry.
        let mut flat: Vec<f32> = memories.iter().flat_map(|m| [m[0] as f32, m[1] as f32]).collect();
        if flat.is_empty() {
            flat.extend([0.0, 0.0]);
        }
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("memories"),
            contents: bytemuck::cast_slice(&flat),
            usage: wgpu::BufferUsages::STORAGE,
        })
    }

    fn empty(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size: size.max(4), usage, mapped_at_creation: false })
    }

    /// Computes the energies over the grid, colours them with contour lines, and reads
    /// the pixels (and optionally the energies) back.
    pub async fn render(&self, memories: &[[f64; 2]], grid: &GridSpec, want_energies: bool) -> Result<Frame, String> {
        let n = (grid.width * grid.height) as u64;
        let params = params_bytes(
            [grid.view[0] as f32, grid.view[1] as f32, grid.view[2] as f32, grid.beta as f32],
            [grid.width, grid.height, memories.len() as u32, grid.form],
            [grid.levels as f32, 0.0, 0.0, 0.0],
        );
        let params = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("energy params"),
            contents: &params,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let mems = self.memories_buffer(memories);
        let energies = self.empty("energies", 4 * n, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC);
        let range = self.empty("energy range", 8, wgpu::BufferUsages::STORAGE);
        let image = self.empty("image", 4 * n, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC);
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("energy bind group"),
            layout: &self.energy_layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: mems.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: energies.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 3, resource: range.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 4, resource: image.as_entire_binding() },
            ],
        });
        let image_read = self.empty("image readback", 4 * n, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
        let energy_read = want_energies.then(|| self.empty("energy readback", 4 * n, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST));
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("energy frame") });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("energy pass"), timestamp_writes: None });
            pass.set_bind_group(0, &bind, &[]);
            let (gx, gy) = (grid.width.div_ceil(8), grid.height.div_ceil(8));
            pass.set_pipeline(&self.energy);
            pass.dispatch_workgroups(gx, gy, 1);
            pass.set_pipeline(&self.range);
            pass.dispatch_workgroups(1, 1, 1);
            pass.set_pipeline(&self.colour);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        enc.copy_buffer_to_buffer(&image, 0, &image_read, 0, 4 * n);
        if let Some(er) = &energy_read {
            enc.copy_buffer_to_buffer(&energies, 0, er, 0, 4 * n);
        }
        self.queue.submit([enc.finish()]);
        let rgba = read_bytes(&self.device, &image_read).await?;
        let energies = match &energy_read {
            Some(er) => Some(bytemuck::cast_slice::<u8, f32>(&read_bytes(&self.device, er).await?).to_vec()),
            None => None,
        };
        Ok(Frame { rgba, energies })
    }

    /// Runs retrieval from every pixel centre of a `width × height` grid over `view`,
    /// `rows_per_dispatch` rows per submission (so long maps can report progress).
    /// Returns per start `[x, y, steps, converged]`.
    #[allow(clippy::too_many_arguments)]
    pub async fn retrieve_rows(
        &self,
        memories: &[[f64; 2]],
        view: [f64; 3],
        width: u32,
        height: u32,
        beta: f64,
        form: u32,
        tol: f64,
        max_steps: u32,
        first_row: u32,
        rows: u32,
    ) -> Result<Vec<[f32; 4]>, String> {
        let rows = rows.min(height.saturating_sub(first_row));
        let total = (width * height) as u64;
        let params = params_bytes(
            [view[0] as f32, view[1] as f32, view[2] as f32, beta as f32],
            [width, height, memories.len() as u32, form],
            [tol as f32, max_steps as f32, first_row as f32, rows as f32],
        );
        let params = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("retrieve params"),
            contents: &params,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let mems = self.memories_buffer(memories);
        let finals = self.empty("finals", 16 * total, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC);
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("retrieve bind group"),
            layout: &self.retrieve_layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: mems.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: finals.as_entire_binding() },
            ],
        });
        let offset = 16 * (first_row * width) as u64;
        let len = 16 * (rows * width) as u64;
        let read = self.empty("finals readback", len, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("retrieve") });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("retrieve pass"), timestamp_writes: None });
            pass.set_bind_group(0, &bind, &[]);
            pass.set_pipeline(&self.retrieve);
            pass.dispatch_workgroups((rows * width).div_ceil(64), 1, 1);
        }
        if len > 0 {
            enc.copy_buffer_to_buffer(&finals, offset, &read, 0, len);
        }
        self.queue.submit([enc.finish()]);
        if len == 0 {
            return Ok(Vec::new());
        }
        let bytes = read_bytes(&self.device, &read).await?;
        Ok(bytemuck::cast_slice::<u8, [f32; 4]>(&bytes).to_vec())
    }
}

fn params_bytes(a: [f32; 4], b: [u32; 4], c: [f32; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    out.extend_from_slice(bytemuck::cast_slice(&a));
    out.extend_from_slice(bytemuck::cast_slice(&b));
    out.extend_from_slice(bytemuck::cast_slice(&c));
    out
}

/// Maps `buffer` for reading and copies its bytes out, without blocking.
async fn read_bytes(device: &wgpu::Device, buffer: &wgpu::Buffer) -> Result<Vec<u8>, String> {
    let (tx, rx) = futures_channel::oneshot::channel();
    buffer.slice(..).map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    // Natively the callback fires only when the device is polled; in a browser this is a no-op.
    let _ = device.poll(wgpu::PollType::Poll);
    rx.await.map_err(|_| "GPU readback was dropped".to_string())?.map_err(|e| format!("GPU readback failed: {e}"))?;
    let bytes = buffer.slice(..).get_mapped_range().map_err(|e| format!("GPU readback failed: {e:?}"))?.to_vec();
    buffer.unmap();
    Ok(bytes)
}
