//! What section 6.1 runs: its networks, pretraining runs and variants, and the committed
//! ([`LeversConfig::full`]) and quick ([`LeversConfig::quick`]) configurations.

use serde::{Deserialize, Serialize};

use crate::augment::AugmentParams;
use crate::models::{CnnParams, EfficientNetParams, Net, ResNetParams};
use crate::training::TrainParams;

/// A pretraining run: a network trained on the corpus, validated on the data's validation
/// part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PretrainSpec {
    /// Name (run folder `pretrain-<name>/`).
    pub name: String,
    /// The network.
    pub net: Net,
    /// Optimisation on the corpus.
    pub train: TrainParams,
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

/// Everything that defines the section's runs. [`LeversConfig::full`] is the committed
/// configuration, [`LeversConfig::quick`] the tests' and notebooks'.
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
}

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
    /// with and without augmentation; EfficientNet-b0 pretrained (4 epochs, augmented) and
    /// fine-tuned 8 epochs at 3e-4 with augmentation; ResNet-18 ([`Net::Resnet`]) from scratch,
    /// 10 epochs at 1e-3 with augmentation (about 12 minutes per epoch on 2 cores).
    pub(crate) fn full() -> Self {
        let wide = Net::Cnn(CnnParams::of_blocks(&[(16, 5), (32, 5), (64, 5), (128, 5)]));
        let effb0 = Net::Efficientnet(EfficientNetParams::b0());
        let aug = TrainParams {
            augment: Some(AugmentParams::default()),
            ..params(20, 1e-3)
        };
        LeversConfig {
            split_seed: 0,
            pretraining: vec![
                PretrainSpec {
                    name: "cnn4".into(),
                    net: wide.clone(),
                    train: TrainParams {
                        augment: Some(AugmentParams::default()),
                        ..params(8, 1e-3)
                    },
                },
                PretrainSpec {
                    name: "effb0".into(),
                    net: effb0.clone(),
                    train: TrainParams {
                        augment: Some(AugmentParams::default()),
                        ..params(4, 1e-3)
                    },
                },
            ],
            variants: vec![
                Variant {
                    name: "cnn4-pretrained-aug".into(),
                    net: wide.clone(),
                    pretrained: Some("cnn4".into()),
                    train: TrainParams {
                        learning_rate: 3e-4,
                        epochs: 12,
                        ..aug.clone()
                    },
                },
                Variant {
                    name: "cnn4-pretrained-aug-weighted".into(),
                    net: wide.clone(),
                    pretrained: Some("cnn4".into()),
                    train: TrainParams {
                        learning_rate: 3e-4,
                        epochs: 12,
                        class_weight_power: Some(0.5),
                        ..aug.clone()
                    },
                },
                Variant {
                    name: "cnn4-pretrained".into(),
                    net: wide.clone(),
                    pretrained: Some("cnn4".into()),
                    train: params(12, 3e-4),
                },
                Variant {
                    name: "cnn4-scratch-aug".into(),
                    net: wide.clone(),
                    pretrained: None,
                    train: aug.clone(),
                },
                Variant {
                    name: "cnn4-scratch".into(),
                    net: wide,
                    pretrained: None,
                    train: params(20, 1e-3),
                },
                Variant {
                    name: "effb0-pretrained-aug".into(),
                    net: effb0,
                    pretrained: Some("effb0".into()),
                    train: TrainParams {
                        learning_rate: 3e-4,
                        epochs: 8,
                        ..aug.clone()
                    },
                },
                Variant {
                    name: "resnet18-scratch-aug".into(),
                    net: Net::Resnet(ResNetParams::resnet18()),
                    pretrained: None,
                    train: TrainParams { epochs: 10, ..aug },
                },
            ],
            tau_grid: (0..=8).map(|i| f64::from(i) * 0.25).collect(),
        }
    }

    /// The configuration of `profile`: [`LeversConfig::full`] or [`LeversConfig::quick`].
    pub fn for_profile(profile: crate::Profile) -> Self {
        match profile {
            crate::Profile::Full => LeversConfig::full(),
            crate::Profile::Quick => LeversConfig::quick(),
        }
    }

    /// Small and fast (tests, notebooks): a 2-block CNN, 1 epoch of pretraining, 1 of
    /// fine-tuning, scratch and pretrained with augmentation and class weights.
    pub(crate) fn quick() -> Self {
        let small = Net::Cnn(CnnParams::of_blocks(&[(8, 3), (16, 3)]));
        LeversConfig {
            split_seed: 0,
            pretraining: vec![PretrainSpec {
                name: "small".into(),
                net: small.clone(),
                train: params(1, 1e-3),
            }],
            variants: vec![
                Variant {
                    name: "small-scratch".into(),
                    net: small.clone(),
                    pretrained: None,
                    train: params(1, 1e-3),
                },
                Variant {
                    name: "small-pretrained-aug-weighted".into(),
                    net: small,
                    pretrained: Some("small".into()),
                    train: TrainParams {
                        augment: Some(AugmentParams::default()),
                        class_weight_power: Some(0.5),
                        ..params(1, 1e-3)
                    },
                },
            ],
            tau_grid: vec![0.0, 0.5, 1.0],
        }
    }
}
