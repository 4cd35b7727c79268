//! Ward clustering off the tab. kodama's linkage is one call over n²/2 distances (a few hundred
//! milliseconds in wasm for the toy's 2,000-sample subsample), so the page hands larger sets to
//! a worker of their own (`www/cluster-worker.js`). The worker loads the lite module (about a
//! twentieth of the full one, [`crate::lite`]): a worker that loaded the full module spent more
//! of the machine compiling it than the clustering costs, and held the tab's frames back on
//! two cores (1–3 s in the browser tests). Small sets, and a page where no worker starts, are
//! clustered here with the same function. The same worker takes the singular values of a live
//! probe's score Jacobian (784 × 784: about a second in wasm, one call to nalgebra).

use memgen_core::cluster::{ward_clusters, Clustering};
use serde::{Deserialize, Serialize};

/// Where the page loads the clustering worker from (relative to the page).
pub const CLUSTER_WORKER_URL: &str = "www/cluster-worker.js";

/// The most points [`cluster_off_the_tab`] clusters in the tab (a few milliseconds).
pub const CLUSTER_HERE_MAX: usize = 600;

/// A Ward clustering job ([`memgen_core::cluster::ward_clusters`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterJob {
    /// The points.
    pub points: Vec<[f32; 2]>,
    /// The cut height.
    pub threshold: f64,
}

/// Page → worker: one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkerJob {
    /// Ward clustering.
    Cluster(ClusterJob),
    /// The singular values of a row-major `rows × cols` matrix
    /// ([`memgen_core::basin::singular_values`]).
    SingularValues {
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
        /// Row-major values, f32 little-endian: bytes cross to the worker as one Uint8Array
        /// (an array of 614,656 numbers took the page's thread far longer).
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClusterReply {
    /// The worker's wasm is up and listening.
    Ready,
    /// The job's flat clusters.
    Clustered {
        /// The clusters.
        clustering: Clustering,
    },
    /// A matrix's singular values, descending.
    SingularValues {
        /// The values.
        values: Vec<f64>,
    },
    /// The job failed (the library's message).
    Failed {
        /// What.
        message: String,
    },
}

/// The clustering itself, in the worker or here.
pub fn cluster(job: &ClusterJob) -> Result<Clustering, String> {
    let m = memgen_core::matrix::Matrix::new(job.points.iter().flatten().copied().collect(), job.points.len(), 2).map_err(|e| e.to_string())?;
    ward_clusters(&m, job.threshold).map_err(|e| e.to_string())
}

/// A job done here (in the worker, or in the tab where no worker starts).
pub fn run(job: &WorkerJob) -> ClusterReply {
    let out = match job {
        WorkerJob::Cluster(c) => cluster(c).map(|clustering| ClusterReply::Clustered { clustering }),
        WorkerJob::SingularValues { rows, cols, data } => {
            memgen_core::matrix::Matrix::new(data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(), *rows, *cols)
                .and_then(|m| memgen_core::basin::singular_values(&m))
                .map(|values| ClusterReply::SingularValues { values })
                .map_err(|e| e.to_string())
        }
    };
    out.unwrap_or_else(|message| ClusterReply::Failed { message })
}

/// Ward clustering of `points` cut at `threshold`: in a worker for more than
/// [`CLUSTER_HERE_MAX`] points, here otherwise or where no worker starts.
pub async fn cluster_off_the_tab(points: Vec<[f32; 2]>, threshold: f64) -> Result<Clustering, String> {
    let job = ClusterJob { points, threshold };
    if job.points.len() <= CLUSTER_HERE_MAX {
        return cluster(&job);
    }
    match off_the_tab(WorkerJob::Cluster(job)).await {
        ClusterReply::Clustered { clustering } => Ok(clustering),
        ClusterReply::Failed { message } => Err(message),
        other => Err(format!("the worker answered {other:?}")),
    }
}

/// The singular values of `m`, descending, in the worker (the tab stays free), or here where
/// no worker starts.
pub async fn singular_values_off_the_tab(m: &memgen_core::matrix::Matrix) -> Result<Vec<f64>, String> {
    let job = WorkerJob::SingularValues { rows: m.rows(), cols: m.cols(), data: m.data().iter().flat_map(|v| v.to_le_bytes()).collect() };
    match off_the_tab(job).await {
        ClusterReply::SingularValues { values } => Ok(values),
        ClusterReply::Failed { message } => Err(message),
        other => Err(format!("the worker answered {other:?}")),
    }
}

/// `job` in a worker of its own, or here where none starts.
async fn off_the_tab(job: WorkerJob) -> ClusterReply {
    #[cfg(target_arch = "wasm32")]
    if let Ok(r) = page::in_worker(&job).await {
        return r;
    }
    run(&job)
}

#[cfg(target_arch = "wasm32")]
mod page {
    use std::cell::RefCell;
    use std::rc::Rc;

    use js_sys::{Array, Object, Reflect};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    use super::{ClusterReply, WorkerJob, CLUSTER_WORKER_URL};

    type Answer = Result<ClusterReply, String>;

    fn call(target: &JsValue, name: &str, args: &[JsValue]) {
        if let Some(f) = Reflect::get(target, &name.into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok()) {
            let _ = f.apply(target, &args.iter().collect::<Array>());
        }
    }

    /// The job in a worker of its own: `Err` when no worker could run it (the caller then
    /// runs it here), else the worker's answer.
    pub(super) async fn in_worker(job: &WorkerJob) -> Answer {
        let ctor = Reflect::get(&js_sys::global(), &"Worker".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok()).ok_or("no Web Workers")?;
        let opts = Object::new();
        let _ = Reflect::set(&opts, &"type".into(), &"module".into());
        let worker = Reflect::construct(&ctor, &Array::of2(&CLUSTER_WORKER_URL.into(), &opts)).map_err(|_| "the worker did not start")?;
        let msg = job.serialize(&serde_wasm_bindgen::Serializer::new()).map_err(|e| e.to_string())?;
        let (tx, rx) = futures_channel::oneshot::channel::<Answer>();
        let tx = Rc::new(RefCell::new(Some(tx)));
        let (tx2, w2) = (tx.clone(), worker.clone());
        let onmessage = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            let data = Reflect::get(&ev, &"data".into()).unwrap_or(JsValue::UNDEFINED);
            let answer = match serde_wasm_bindgen::from_value::<ClusterReply>(data) {
                Ok(ClusterReply::Ready) => {
                    call(&w2, "postMessage", std::slice::from_ref(&msg));
                    return;
                }
                Ok(reply) => Ok(reply),
                Err(e) => Err(format!("unreadable message from the worker: {e}")),
            };
            if let Some(tx) = tx2.borrow_mut().take() {
                let _ = tx.send(answer);
            }
        });
        let onerror = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(Err("the worker failed to load".into()));
            }
        });
        let _ = Reflect::set(&worker, &"onmessage".into(), onmessage.as_ref());
        let _ = Reflect::set(&worker, &"onerror".into(), onerror.as_ref());
        let answer = rx.await.unwrap_or_else(|_| Err("the worker stopped".into()));
        call(&worker, "terminate", &[]);
        drop((onmessage, onerror));
        answer
    }

    use serde::Serialize;
}

/// The clustering worker's entry point (`www/cluster-worker.js`, on the lite module).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn cluster_worker_start() {
    use js_sys::Reflect;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    let scope = js_sys::global();
    let post = |target: &JsValue, reply: &ClusterReply| {
        if let Ok(v) = reply.serialize(&serde_wasm_bindgen::Serializer::new()) {
            if let Some(f) = Reflect::get(target, &"postMessage".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok()) {
                let _ = f.call1(target, &v);
            }
        }
    };
    let target = scope.clone();
    let onmessage = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let data = Reflect::get(&ev, &"data".into()).unwrap_or(JsValue::UNDEFINED);
        let reply = match serde_wasm_bindgen::from_value::<WorkerJob>(data) {
            Ok(job) => run(&job),
            Err(e) => ClusterReply::Failed { message: format!("unreadable message: {e}") },
        };
        post(&target, &reply);
    });
    let _ = Reflect::set(&scope, &"onmessage".into(), onmessage.as_ref());
    onmessage.forget();
    post(&scope, &ClusterReply::Ready);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_and_replies_travel_as_json_and_the_worker_answers_with_the_librarys_clusters() {
        let job = ClusterJob { points: vec![[0.0, 0.0], [0.1, 0.0], [5.0, 5.0]], threshold: 1.0 };
        let j = serde_json::to_value(&job).unwrap();
        assert_eq!(serde_json::from_value::<ClusterJob>(j).unwrap(), job);
        let clustering = cluster(&job).unwrap();
        assert_eq!(clustering.labels, vec![0, 0, 1]);
        let reply = ClusterReply::Clustered { clustering };
        let j = serde_json::to_value(&reply).unwrap();
        assert_eq!(j["type"], "clustered");
        assert_eq!(serde_json::from_value::<ClusterReply>(j).unwrap(), reply);
        assert_eq!(serde_json::to_value(ClusterReply::Ready).unwrap()["type"], "ready");
        assert!(cluster(&ClusterJob { points: vec![], threshold: 1.0 }).is_err());
        // The singular values job: the library's, and a malformed matrix refused.
        let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let sv = WorkerJob::SingularValues { rows: 2, cols: 2, data: bytes(&[3.0, 0.0, 0.0, -4.0]) };
        let j = serde_json::to_value(&sv).unwrap();
        assert_eq!(j["kind"], "singular_values");
        assert_eq!(serde_json::from_value::<WorkerJob>(j).unwrap(), sv);
        assert_eq!(run(&sv), ClusterReply::SingularValues { values: vec![4.0, 3.0] });
        assert!(matches!(run(&WorkerJob::SingularValues { rows: 2, cols: 2, data: bytes(&[1.0]) }), ClusterReply::Failed { .. }));
        assert!(matches!(run(&WorkerJob::Cluster(job)), ClusterReply::Clustered { .. }));
    }
}
