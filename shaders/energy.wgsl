// Dense Associative Memory energy over a grid, its colour map and contour lines.
//
// Entry points (all @workgroup_size as marked), sharing one bind group:
//   @binding(0) params   : Params, uniform
//   @binding(1) memories : array<vec2<f32>>, storage read        (K memories)
//   @binding(2) energies : array<f32>,       storage read_write  (width*height, row 0 at the top)
//   @binding(3) range    : array<f32>,       storage read_write  (2: min, max)
//   @binding(4) image    : array<u32>,       storage read_write  (width*height, RGBA8 packed)
//
// energy_main (8x8):  E(x) = -1/beta log sum_j exp(beta x.y_j) + |x|^2/2      (form 0, dot)
//                     E(x) = -1/beta log sum_j exp(-beta |x - y_j|^2 / 2)    (form 1, distance)
//                     at pixel centres; max-shifted log-sum-exp.
// range_main (256, one workgroup): min and max of the energies.
// colour_main (8x8):  viridis-like colour of sqrt((E-min)/(max-min)), dark contour lines
//                     where the contour level changes towards the right or lower neighbour.
// CPU references: memgen_core::dense_am::energy_grid (energies) and
//                 memgen_lab::render::colour_energies (colours), kept in step with this file.

struct Params {
    // cx, cy, half-width of the view, beta
    view: vec4<f32>,
    // width, height, K, form (0 dot, 1 distance)
    dims: vec4<u32>,
    // contour levels, unused, unused, unused
    style: vec4<f32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> memories: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> energies: array<f32>;
@group(0) @binding(3) var<storage, read_write> range: array<f32>;
@group(0) @binding(4) var<storage, read_write> image: array<u32>;

fn pixel_point(col: u32, row: u32) -> vec2<f32> {
    let w = f32(params.dims.x);
    let h = f32(params.dims.y);
    let u = (f32(col) + 0.5) / w;
    let v = (f32(row) + 0.5) / h;
    let half = params.view.z;
    return vec2<f32>(params.view.x - half + 2.0 * half * u, params.view.y + half - 2.0 * half * v);
}

fn logit(x: vec2<f32>, y: vec2<f32>) -> f32 {
    let beta = params.view.w;
    if (params.dims.w == 0u) {
        return beta * dot(x, y);
    }
    let d = x - y;
    return -0.5 * beta * dot(d, d);
}

fn energy(x: vec2<f32>) -> f32 {
    let k = params.dims.z;
    let beta = params.view.w;
    var m = -3.0e38;
    for (var j = 0u; j < k; j = j + 1u) {
        m = max(m, logit(x, memories[j]));
    }
    var s = 0.0;
    for (var j = 0u; j < k; j = j + 1u) {
        s = s + exp(logit(x, memories[j]) - m);
    }
    var e = 0.0;
    if (k > 0u) {
        e = -(m + log(s)) / beta;
    }
    if (params.dims.w == 0u) {
        e = e + 0.5 * dot(x, x);
    }
    return e;
}

@compute @workgroup_size(8, 8)
fn energy_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= params.dims.x || gid.y >= params.dims.y) {
        return;
    }
    energies[gid.y * params.dims.x + gid.x] = energy(pixel_point(gid.x, gid.y));
}

var<workgroup> lo: array<f32, 256>;
var<workgroup> hi: array<f32, 256>;

@compute @workgroup_size(256)
fn range_main(@builtin(local_invocation_index) lid: u32) {
    let n = params.dims.x * params.dims.y;
    var a = 3.0e38;
    var b = -3.0e38;
    for (var i = lid; i < n; i = i + 256u) {
        a = min(a, energies[i]);
        b = max(b, energies[i]);
    }
    lo[lid] = a;
    hi[lid] = b;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride = stride / 2u) {
        if (lid < stride) {
            lo[lid] = min(lo[lid], lo[lid + stride]);
            hi[lid] = max(hi[lid], hi[lid + stride]);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        range[0] = lo[0];
        range[1] = hi[0];
    }
}

fn level(e: f32) -> f32 {
    let span = max(range[1] - range[0], 1e-20);
    return sqrt(clamp((e - range[0]) / span, 0.0, 1.0));
}

// Piecewise-linear ramp through five viridis key colours.
fn ramp(t: f32) -> vec3<f32> {
    var stops = array<vec3<f32>, 5>(
        vec3<f32>(0.267, 0.005, 0.329),
        vec3<f32>(0.231, 0.322, 0.545),
        vec3<f32>(0.129, 0.569, 0.549),
        vec3<f32>(0.369, 0.788, 0.384),
        vec3<f32>(0.992, 0.906, 0.145),
    );
    let s = clamp(t, 0.0, 1.0) * 4.0;
    let i = min(u32(floor(s)), 3u);
    let f = s - f32(i);
    return mix(stops[i], stops[i + 1u], f);
}

@compute @workgroup_size(8, 8)
fn colour_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let w = params.dims.x;
    let h = params.dims.y;
    if (gid.x >= w || gid.y >= h) {
        return;
    }
    let n_levels = params.style.x;
    let idx = gid.y * w + gid.x;
    let t = level(energies[idx]);
    var c = ramp(t);
    let here = floor(t * n_levels);
    let right = floor(level(energies[gid.y * w + min(gid.x + 1u, w - 1u)]) * n_levels);
    let below = floor(level(energies[min(gid.y + 1u, h - 1u) * w + gid.x]) * n_levels);
    if (here != right || here != below) {
        c = c * 0.45;
    }
    let r = u32(round(clamp(c.x, 0.0, 1.0) * 255.0));
    let g = u32(round(clamp(c.y, 0.0, 1.0) * 255.0));
    let b = u32(round(clamp(c.z, 0.0, 1.0) * 255.0));
    image[idx] = r | (g << 8u) | (b << 16u) | (255u << 24u);
}
