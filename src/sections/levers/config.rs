//! What section 6.1 runs: its networks, pretraining runs and variants, and the committed
//! ([`LeversConfig::full`]) and quick ([`LeversConfig::quick`]) configurations.

use serde::{Deserialize, Serialize};

use crate::augment::AugmentParams;
use crate::models::{CnnParams, EfficientNetParams, Net};
use crate::training::TrainParams;

/// What a pretraining run trains on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PretrainSource {
    /// The corpus the section is given (on the stand-in: the rest of the same EMNIST
    /// partition, so more images of the same kind and the same writers, not another domain).
    #[default]
    Corpus,
    /// Glyphs of the embedded generator (drawn strokes, no handwriting), as many as the corpus
    /// has images, drawn with `seed`: a source unlike the test data, so pretraining on it is
    /// transfer.
    Glyphs {
        /// Generator seed.
        seed: u64,
    },
}

impl PretrainSource {
    /// Whether this is [`PretrainSource::Corpus`] (left out of `config.json`, so that runs from
    /// before the choice keep their identity).
    pub(crate) fn is_corpus(&self) -> bool {
        matches!(self, PretrainSource::Corpus)
    }
}

/// A pretraining run: a network trained on the corpus (or on generated glyphs, see
/// [`PretrainSource`]), validated on the data's validation part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PretrainSpec {
    /// Name (run folder `pretrain-<name>/`).
    pub name: String,
    /// The network.
    pub net: Net,
    /// Optimisation on the pretraining images.
    pub train: TrainParams,
    /// What it trains on (default: the corpus).
    #[serde(default, skip_serializing_if = "PretrainSource::is_corpus")]
    pub source: PretrainSource,
}

/// One variant: a network, trained on the training part from scratch or from a pretraining
/// run's best weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Name (run folder and table row).
    pub name: String,
    /// The network (the same as the pretraining run's when `pretrained` is set).
    pub net: Net,
    /// Name of the [`PretrainSpec`] whose best weights start the training (`None`: scratch).
    pub pretrained: Option<String>,
    /// Optimisation on the training part (class weights and augmentation included).
    pub train: TrainParams,
}

/// Repeats of some variants with other training seeds (the split stays the report's), for
/// the spread of each lever's effect: variant `v` at seed `s` runs as `v-seed<s>`, fine-tuned
/// from its pretraining run repeated at the same seed (`<p>-seed<s>`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Repeats {
    /// Training seeds besides the variants' own (0).
    pub seeds: Vec<u64>,
    /// Names of the variants repeated.
    pub variants: Vec<String>,
}

/// One lever compared between two variants that differ in it alone (see [`LeversConfig::effects`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeverPair {
    /// What differs (`same-source pretraining`, `augmentation`, ...).
    pub lever: String,
    /// The variant with the lever.
    pub with: String,
    /// The variant without it.
    pub without: String,
}

/// Everything that defines the section's runs. `LeversConfig::full` is the committed
/// configuration, `LeversConfig::quick` the tests' and notebooks'.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeversConfig {
    /// Seed of the report's random split.
    pub split_seed: u64,
    /// Pretraining runs.
    pub pretraining: Vec<PretrainSpec>,
    /// Variants, in the order they run.
    pub variants: Vec<Variant>,
    /// Values of the logit adjustment's `tau` tried on validation (0 = none).
    pub tau_grid: Vec<f64>,
    /// Variants repeated with other seeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<Repeats>,
    /// The lever comparisons measured over the seeds (both sides must be repeated variants for
    /// a spread; a pair of unrepeated variants is one seed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<LeverPair>,
}

/// The seed a repeated run's name ends with (`-seed<s>`).
pub(crate) fn seeded(name: &str, seed: u64) -> String {
    format!("{name}-seed{seed}")
}

fn pair(lever: &str, with: &str, without: &str) -> LeverPair {
    LeverPair {
        lever: lever.into(),
        with: with.into(),
        without: without.into(),
    }
}

/// Seed of the generated glyphs the transfer runs pretrain on (the embedded data set is seed 0,
/// the embedded corpus 1).
const GLYPH_SEED: u64 = 2;

fn params(epochs: usize, lr: f64) -> TrainParams {
    TrainParams {
        epochs,
        learning_rate: lr,
        ..Default::default()
    }
}

impl LeversConfig {
    /// The committed configuration: the tuning's 4-block CNN (16-128 filters, 5x5)
    /// pretrained on the corpus (8 epochs, augmented) and fine-tuned 12 epochs at 3e-4 with and
    /// without augmentation and class weights, then trained from scratch (20 epochs at 1e-3)
    /// with and without augmentation; the same CNN pretrained on as many generated glyphs
    /// instead ([`PretrainSource::Glyphs`], transfer) and fine-tuned alike; EfficientNet-b0
    /// pretrained on each (4 epochs, augmented) and fine-tuned 8 epochs at 3e-4 with
    /// augmentation, and from scratch for the same 8 epochs at 1e-3. The CNN's variants are
    /// repeated at seeds 1 and 2 (pretraining included), and [`LeversConfig::effects`] names
    /// the comparisons. ResNet-18 ([`Net::Resnet`], `charlab bench-nets` times it) is not a
    /// variant: at about 20 minutes an epoch on 2 cores, a run as long as the CNN's (20 epochs)
    /// takes 6.7 hours, and a shorter one compares an under-trained network.
    pub(crate) fn full() -> Self {
        let wide = Net::Cnn(CnnParams::of_blocks(&[(16, 5), (32, 5), (64, 5), (128, 5)]));
        let effb0 = Net::Efficientnet(EfficientNetParams::b0());
        let aug = TrainParams {
            augment: Some(AugmentParams::default()),
            ..params(20, 1e-3)
        };
        let pretrain =
            |name: &str, net: &Net, epochs: usize, source: PretrainSource| PretrainSpec {
                name: name.into(),
                net: net.clone(),
                train: TrainParams {
                    augment: Some(AugmentParams::default()),
                    ..params(epochs, 1e-3)
                },
                source,
            };
        let glyphs = PretrainSource::Glyphs { seed: GLYPH_SEED };
        let variant = |name: &str, net: &Net, from: Option<&str>, train: TrainParams| Variant {
            name: name.into(),
            net: net.clone(),
            pretrained: from.map(str::to_string),
            train,
        };
        let fine_tune = |epochs: usize, base: &TrainParams| TrainParams {
            learning_rate: 3e-4,
            epochs,
            ..base.clone()
        };
        let cnn4 = [
            "cnn4-pretrained-aug",
            "cnn4-pretrained-aug-weighted",
            "cnn4-pretrained",
            "cnn4-scratch-aug",
            "cnn4-scratch",
            "cnn4-glyphs-aug",
        ];
        LeversConfig {
            split_seed: 0,
            pretraining: vec![
                pretrain("cnn4", &wide, 8, PretrainSource::Corpus),
                pretrain("effb0", &effb0, 4, PretrainSource::Corpus),
                pretrain("cnn4-glyphs", &wide, 8, glyphs),
                pretrain("effb0-glyphs", &effb0, 4, glyphs),
            ],
            variants: vec![
                variant(cnn4[0], &wide, Some("cnn4"), fine_tune(12, &aug)),
                variant(
                    cnn4[1],
                    &wide,
                    Some("cnn4"),
                    TrainParams {
                        class_weight_power: Some(0.5),
                        ..fine_tune(12, &aug)
                    },
                ),
                variant(cnn4[2], &wide, Some("cnn4"), params(12, 3e-4)),
                variant(cnn4[3], &wide, None, aug.clone()),
                variant(cnn4[4], &wide, None, params(20, 1e-3)),
                variant(
                    "effb0-pretrained-aug",
                    &effb0,
                    Some("effb0"),
                    fine_tune(8, &aug),
                ),
                variant(cnn4[5], &wide, Some("cnn4-glyphs"), fine_tune(12, &aug)),
                variant(
                    "effb0-scratch-aug",
                    &effb0,
                    None,
                    TrainParams {
                        epochs: 8,
                        ..aug.clone()
                    },
                ),
                variant(
                    "effb0-glyphs-aug",
                    &effb0,
                    Some("effb0-glyphs"),
                    fine_tune(8, &aug),
                ),
            ],
            tau_grid: (0..=8).map(|i| f64::from(i) * 0.25).collect(),
            repeats: Some(Repeats {
                seeds: vec![1, 2],
                variants: cnn4.iter().map(|v| v.to_string()).collect(),
            }),
            effects: vec![
                pair("same-source pretraining", cnn4[0], cnn4[3]),
                pair("glyph pretraining (transfer)", cnn4[5], cnn4[3]),
                pair("same-source against glyph pretraining", cnn4[0], cnn4[5]),
                pair("augmentation, from scratch", cnn4[3], cnn4[4]),
                pair("augmentation, pretrained", cnn4[0], cnn4[2]),
                pair("class weights", cnn4[1], cnn4[0]),
                pair(
                    "same-source pretraining, EfficientNet-b0",
                    "effb0-pretrained-aug",
                    "effb0-scratch-aug",
                ),
                pair(
                    "glyph pretraining (transfer), EfficientNet-b0",
                    "effb0-glyphs-aug",
                    "effb0-scratch-aug",
                ),
            ],
        }
    }

    /// The configuration of `profile`: `LeversConfig::full` or `LeversConfig::quick`.
    pub fn for_profile(profile: crate::Profile) -> Self {
        match profile {
            crate::Profile::Full => LeversConfig::full(),
            crate::Profile::Quick => LeversConfig::quick(),
        }
    }

    /// Small and fast (tests, notebooks): a 2-block CNN, 1 epoch of pretraining on the corpus
    /// and 1 on glyphs, 1 of fine-tuning, scratch and pretrained with augmentation and class
    /// weights; two variants repeated at seed 1.
    pub(crate) fn quick() -> Self {
        let small = Net::Cnn(CnnParams::of_blocks(&[(8, 3), (16, 3)]));
        LeversConfig {
            split_seed: 0,
            pretraining: vec![
                PretrainSpec {
                    name: "small".into(),
                    net: small.clone(),
                    train: params(1, 1e-3),
                    source: PretrainSource::Corpus,
                },
                PretrainSpec {
                    name: "small-glyphs".into(),
                    net: small.clone(),
                    train: params(1, 1e-3),
                    source: PretrainSource::Glyphs { seed: GLYPH_SEED },
                },
            ],
            variants: vec![
                Variant {
                    name: "small-scratch".into(),
                    net: small.clone(),
                    pretrained: None,
                    train: params(1, 1e-3),
                },
                Variant {
                    name: "small-pretrained-aug-weighted".into(),
                    net: small.clone(),
                    pretrained: Some("small".into()),
                    train: TrainParams {
                        augment: Some(AugmentParams::default()),
                        class_weight_power: Some(0.5),
                        ..params(1, 1e-3)
                    },
                },
                Variant {
                    name: "small-glyphs".into(),
                    net: small,
                    pretrained: Some("small-glyphs".into()),
                    train: params(1, 1e-3),
                },
            ],
            tau_grid: vec![0.0, 0.5, 1.0],
            repeats: Some(Repeats {
                seeds: vec![1],
                variants: vec!["small-scratch".into(), "small-glyphs".into()],
            }),
            effects: vec![
                pair(
                    "glyph pretraining (transfer)",
                    "small-glyphs",
                    "small-scratch",
                ),
                pair(
                    "pretraining, augmentation and class weights",
                    "small-pretrained-aug-weighted",
                    "small-scratch",
                ),
            ],
        }
    }

    /// The augmentation of the first run that trains with one (the variants, then the
    /// pretraining runs): the one `figures/06-augmentation` draws and its caption describes.
    pub fn first_augmentation(&self) -> Option<&crate::augment::AugmentParams> {
        self.variants
            .iter()
            .map(|v| &v.train)
            .chain(self.pretraining.iter().map(|p| &p.train))
            .find_map(|t| t.augment.as_ref())
    }

    /// Every pretraining run: the configured ones, then each repeated at each seed of
    /// [`LeversConfig::repeats`] that a repeated variant starts from (`<p>-seed<s>`).
    pub(crate) fn all_pretraining(&self) -> Vec<PretrainSpec> {
        let mut all = self.pretraining.clone();
        for (_, seed, v) in self.repeated() {
            let Some(name) = &v.pretrained else { continue };
            if all.iter().any(|p| &p.name == name) {
                continue;
            }
            let base = name.trim_end_matches(&format!("-seed{seed}"));
            if let Some(p) = self.pretraining.iter().find(|p| p.name == base) {
                all.push(PretrainSpec {
                    name: name.clone(),
                    train: TrainParams {
                        seed,
                        ..p.train.clone()
                    },
                    ..p.clone()
                });
            }
        }
        all
    }

    /// The repeated runs, seed by seed: `(variant, seed, the variant as run)`, the run named
    /// `<variant>-seed<seed>`, trained with that seed and fine-tuned from `<p>-seed<seed>`.
    pub(crate) fn repeated(&self) -> Vec<(String, u64, Variant)> {
        let Some(r) = &self.repeats else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &seed in &r.seeds {
            for v in self
                .variants
                .iter()
                .filter(|v| r.variants.contains(&v.name))
            {
                out.push((
                    v.name.clone(),
                    seed,
                    Variant {
                        name: seeded(&v.name, seed),
                        pretrained: v.pretrained.as_ref().map(|p| seeded(p, seed)),
                        train: TrainParams {
                            seed,
                            ..v.train.clone()
                        },
                        ..v.clone()
                    },
                ));
            }
        }
        out
    }

    /// Checks that the repeats and the effects name configured variants, and that no seed
    /// of a repeat is a variant's own.
    pub(crate) fn check(&self) -> crate::Result<()> {
        let known = |n: &str| self.variants.iter().any(|v| v.name == n);
        let bad = |what: &'static str, n: &str| {
            crate::Error::param(
                what,
                format!(
                    "`{n}` is not a variant of the configuration (its variants: {})",
                    self.variants
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        };
        if let Some(r) = &self.repeats {
            for n in &r.variants {
                if !known(n) {
                    return Err(bad("repeats", n));
                }
                if let Some(v) = self.variants.iter().find(|v| &v.name == n) {
                    if r.seeds.contains(&v.train.seed) {
                        return Err(crate::Error::param(
                            "repeats",
                            format!(
                                "seed {} is variant {n}'s own: repeat it at other seeds",
                                v.train.seed
                            ),
                        ));
                    }
                }
            }
        }
        for e in &self.effects {
            for n in [&e.with, &e.without] {
                if !known(n) {
                    return Err(bad("effects", n));
                }
            }
        }
        Ok(())
    }
}
