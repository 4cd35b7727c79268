//! The models an image experiment can sample from, as one sum type: [`ModelSpec`].
//!
//! Each variant is one module with its settings, defaults and its ε-model (the samplers drive
//! any [`crate::unet::EpsilonModel`]): the trained UNet ([`crate::unet`], settings
//! [`UNetSpec`]) and the ideal empirical denoiser ([`crate::unet::ideal`], no settings). The
//! bundle records a point's model as this enum (`"model": {"kind": "unet", …}`), so a new kind
//! of model is a new module, a new variant here and its tests: every `match` on the enum (the
//! experiment point, the page's labels, the CLI's flags) then fails to compile until it
//! handles the new kind.

use serde::{Deserialize, Serialize};

use crate::unet::UNetTrainConfig;

/// How a UNet is trained and sampled. Fused and burn runs of one seed agree step for step at
/// first, then drift apart in float order: a bundle names its engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
pub enum Engine {
    /// burn's autodiff and modules on the chosen device.
    Burn,
    /// The fused CPU trainer and forward pass (`unet::fused`), its batch cut into `shards`.
    Fused {
        /// Fixed shards of a batch (results depend on this, not on the number of cores).
        shards: usize,
    },
}

impl Engine {
    /// The fused engine with the lab's fixed sharding ([`crate::unet::fused::DEFAULT_SHARDS`]).
    pub const FUSED: Engine = Engine::Fused { shards: crate::unet::fused::DEFAULT_SHARDS };
}

/// A trained UNet: its network and training run, and the engine that runs them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UNetSpec {
    /// The network and its training run (the network is `training.net`).
    pub training: UNetTrainConfig,
    /// The engine.
    pub engine: Engine,
}

/// Which model generates a point's samples, with everything that decides it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelSpec {
    /// The small UNet DDPM, trained on `S_K`.
    Unet(UNetSpec),
    /// The ideal empirical denoiser of `S_K` (training-free; memorizes by construction).
    Ideal,
}

impl ModelSpec {
    /// The model's name in bundles, links and file names (`unet`, `ideal`).
    pub fn name(&self) -> &'static str {
        match self {
            ModelSpec::Unet(_) => "unet",
            ModelSpec::Ideal => "ideal",
        }
    }

    /// A line for people: what the model is.
    pub fn describe(&self) -> String {
        match self {
            ModelSpec::Unet(u) => format!("UNet ({} parameters), {} training steps", u.training.net.parameter_count(), u.training.steps),
            ModelSpec::Ideal => "the ideal empirical denoiser (training-free)".into(),
        }
    }

    /// Its training run, when it is trained.
    pub fn training(&self) -> Option<&UNetTrainConfig> {
        match self {
            ModelSpec::Unet(u) => Some(&u.training),
            ModelSpec::Ideal => None,
        }
    }

    /// Its UNet settings, when it is a UNet.
    pub fn unet(&self) -> Option<&UNetSpec> {
        match self {
            ModelSpec::Unet(u) => Some(u),
            ModelSpec::Ideal => None,
        }
    }

    /// Trainable parameters (0 for a training-free model).
    pub fn parameters(&self) -> usize {
        match self {
            ModelSpec::Unet(u) => u.training.net.parameter_count(),
            ModelSpec::Ideal => 0,
        }
    }

    /// The model of point `k` of a sweep (a UNet's steps may depend on `K`).
    pub fn for_k(self, k: usize) -> ModelSpec {
        match self {
            ModelSpec::Unet(u) => ModelSpec::Unet(UNetSpec { training: u.training.for_k(k), ..u }),
            ModelSpec::Ideal => ModelSpec::Ideal,
        }
    }

    /// Checks the model's settings against images of shape `hwc`, naming the first bad one.
    pub fn validate(&self, hwc: [usize; 3]) -> Result<(), String> {
        match self {
            ModelSpec::Unet(UNetSpec { training: t, engine }) => {
                t.net.validate().map_err(|e| e.to_string())?;
                if t.steps == 0 || t.batch == 0 || !(t.lr > 0.0 && t.lr.is_finite()) {
                    return Err("training: steps and batch must be at least 1 and lr finite and > 0".into());
                }
                if [t.net.height, t.net.width, t.net.channels] != hwc {
                    return Err(format!("the UNet's image shape is not the dataset's {hwc:?}"));
                }
                if let Engine::Fused { shards: 0 } = engine {
                    return Err("engine: the fused engine needs at least one shard".into());
                }
                Ok(())
            }
            ModelSpec::Ideal => Ok(()),
        }
    }
}

/// Reads a model written by format 1 or 2 bundles, where it was spread over four fields of its
/// object (`model`: `"unet"` or `"ideal"`, `unet`, `training`, `engine`): rewrites `object` in
/// place into this format's single `model` field. Objects already in this format are left as
/// they are.
pub fn upgrade_legacy_fields(object: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::Value;
    let Some(Value::String(kind)) = object.get("model").cloned() else { return };
    object.remove("unet");
    let training = object.remove("training").unwrap_or(Value::Null);
    let engine = object.remove("engine").unwrap_or(Value::Null);
    let model = match kind.as_str() {
        "unet" => serde_json::json!({ "kind": "unet", "training": training, "engine": engine }),
        // An unknown kind is kept, so the reader names it.
        other => serde_json::json!({ "kind": other }),
    };
    object.insert("model".into(), model);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unet::UNetConfig;

    fn unet() -> ModelSpec {
        ModelSpec::Unet(UNetSpec { training: crate::presets::Preset::Quick.defaults().training(UNetConfig::grey()), engine: Engine::FUSED })
    }

    #[test]
    fn specs_round_trip_with_their_kind_named() {
        for spec in [unet(), ModelSpec::Ideal] {
            let json = serde_json::to_value(spec).unwrap();
            assert_eq!(json["kind"], spec.name());
            assert_eq!(serde_json::from_value::<ModelSpec>(json).unwrap(), spec);
        }
        assert_eq!(serde_json::to_string(&ModelSpec::Ideal).unwrap(), r#"{"kind":"ideal"}"#);
        let bad = serde_json::from_str::<ModelSpec>(r#"{"kind":"vae"}"#).unwrap_err().to_string();
        assert!(bad.contains("vae"), "{bad}");
    }

    #[test]
    fn legacy_fields_become_one_model() {
        let ModelSpec::Unet(u) = unet() else { unreachable!() };
        let mut old = serde_json::json!({
            "k": 2, "model": "unet", "unet": u.training.net, "training": u.training, "engine": {"name": "fused", "shards": 4}
        });
        upgrade_legacy_fields(old.as_object_mut().unwrap());
        assert_eq!(old.as_object().unwrap().len(), 2, "{old}");
        assert_eq!(serde_json::from_value::<ModelSpec>(old["model"].clone()).unwrap(), unet());
        let mut ideal = serde_json::json!({"model": "ideal", "training": null, "engine": null});
        upgrade_legacy_fields(ideal.as_object_mut().unwrap());
        assert_eq!(ideal, serde_json::json!({"model": {"kind": "ideal"}}));
        // Already upgraded: unchanged.
        let mut new = serde_json::json!({"model": {"kind": "ideal"}});
        upgrade_legacy_fields(new.as_object_mut().unwrap());
        assert_eq!(new, serde_json::json!({"model": {"kind": "ideal"}}));
    }

    #[test]
    fn validation_names_the_bad_setting() {
        assert_eq!(unet().validate([28, 28, 1]), Ok(()));
        assert!(unet().validate([32, 32, 3]).unwrap_err().contains("image shape"));
        let ModelSpec::Unet(mut u) = unet() else { unreachable!() };
        u.training.steps = 0;
        assert!(ModelSpec::Unet(u).validate([28, 28, 1]).unwrap_err().contains("steps"));
        u.training.steps = 10;
        u.engine = Engine::Fused { shards: 0 };
        assert!(ModelSpec::Unet(u).validate([28, 28, 1]).unwrap_err().contains("shard"));
        assert_eq!(ModelSpec::Ideal.validate([1, 1, 1]), Ok(()));
        assert_eq!(ModelSpec::Ideal.parameters(), 0);
        assert_eq!(unet().parameters(), UNetConfig::grey().parameter_count());
    }
}
