// Dense Associative Memory retrieval from a grid of starting points (the basin map).
//
//   @binding(0) params   : Params, uniform
//   @binding(1) memories : array<vec2<f32>>, storage read   (K memories)
//   @binding(2) finals   : array<vec4<f32>>, storage read_write
//                          per start: final x, final y, updates applied, 1 if converged else 0
// Workgroup 64. Start i = row_offset*width + invocation; its pixel centre is the start.
// Update: x <- sum_j softmax_j(logit_j(x)) y_j with logit = beta x.y (form 0) or
// -beta |x-y|^2/2 (form 1), until |x_new - x| < tol or max_steps updates.
// CPU reference: memgen_core::dense_am::DenseAm::retrieve (f64).

struct Params {
    // cx, cy, half-width of the view, beta
    view: vec4<f32>,
    // width, height, K, form
    dims: vec4<u32>,
    // tol, max_steps, first row of this dispatch, rows in this dispatch
    iter: vec4<f32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> memories: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> finals: array<vec4<f32>>;

fn logit(x: vec2<f32>, y: vec2<f32>) -> f32 {
    let beta = params.view.w;
    if (params.dims.w == 0u) {
        return beta * dot(x, y);
    }
    let d = x - y;
    return -0.5 * beta * dot(d, d);
}

fn update(x: vec2<f32>) -> vec2<f32> {
    let k = params.dims.z;
    var m = -3.0e38;
    for (var j = 0u; j < k; j = j + 1u) {
        m = max(m, logit(x, memories[j]));
    }
    var z = 0.0;
    var acc = vec2<f32>(0.0, 0.0);
    for (var j = 0u; j < k; j = j + 1u) {
        let w = exp(logit(x, memories[j]) - m);
        z = z + w;
        acc = acc + w * memories[j];
    }
    return acc / z;
}

@compute @workgroup_size(64)
fn retrieve_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let w = params.dims.x;
    let first_row = u32(params.iter.z);
    let rows = u32(params.iter.w);
    let local = gid.x;
    if (local >= w * rows) {
        return;
    }
    let col = local % w;
    let row = first_row + local / w;
    let half = params.view.z;
    let u = (f32(col) + 0.5) / f32(w);
    let v = (f32(row) + 0.5) / f32(params.dims.y);
    var x = vec2<f32>(params.view.x - half + 2.0 * half * u, params.view.y + half - 2.0 * half * v);
    let max_steps = u32(params.iter.y);
    var steps = 0u;
    var converged = 0.0;
    loop {
        if (steps >= max_steps) {
            break;
        }
        let nx = update(x);
        steps = steps + 1u;
        let delta = length(nx - x);
        x = nx;
        if (delta < params.iter.x) {
            converged = 1.0;
            break;
        }
    }
    finals[row * w + col] = vec4<f32>(x.x, x.y, f32(steps), converged);
}
