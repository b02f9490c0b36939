//! From the parsed arguments to the library's configurations: the data, the profile and the
//! parameters each command runs with.

use super::args::*;
use crate::data::{DataSpec, Dataset};
use crate::models::svm::SvmSolver;
use crate::sections::baselines::BaselinesConfig;
use crate::sections::cnn_tuning::TuningConfig;
use crate::sections::{cnn, efficientnet};
use crate::{Profile, Result};

impl TrainArgs {
    /// The data and training parameters, `--quick` applied ([`Profile::data_size`] embedded
    /// images unless --data is given, the epochs `epochs` makes of the given ones).
    fn setup(
        &self,
        epochs: impl Fn(Profile, usize) -> usize,
    ) -> Result<(Dataset, crate::training::TrainParams)> {
        let profile = Profile::from_flag(self.quick);
        let (data, _) = self.data.for_profile(profile).load()?;
        let train = crate::training::TrainParams {
            epochs: epochs(profile, self.epochs),
            batch_size: self.batch_size,
            learning_rate: self.lr,
            seed: self.seed,
            precision: self.precision,
            ..Default::default()
        };
        Ok((data, train))
    }

    /// The data and configuration of `charlab train cnn`.
    pub fn cnn(&self) -> Result<(Dataset, cnn::CnnConfig)> {
        let (data, train) = self.setup(Profile::cnn_epochs)?;
        let config = cnn::CnnConfig {
            train,
            split_seed: self.seed,
            init: self.init.clone(),
            ..Default::default()
        };
        Ok((data, config))
    }

    /// The data and configuration of `charlab train efficientnet --variant <variant>`.
    pub fn efficientnet(
        &self,
        variant: EfficientNetVariant,
    ) -> Result<(Dataset, efficientnet::EfficientNetConfig)> {
        let model = crate::models::efficientnet::EfficientNetParams::variant(variant.name())?;
        let (data, train) = self.setup(Profile::efficientnet_epochs)?;
        let config = efficientnet::EfficientNetConfig {
            model,
            train,
            split_seed: self.seed,
            weights: self.init.clone(),
        };
        Ok((data, config))
    }
}

impl TuneArgs {
    /// The configuration of `charlab tune cnn` in `profile` (`--search-epochs` in the full
    /// profile).
    pub fn config(&self, profile: Profile) -> TuningConfig {
        let mut config = TuningConfig::for_profile(profile);
        if !profile.is_quick() {
            config.search.epochs = self.search_epochs;
        }
        config.split_seed = self.seed;
        config.sweep.seed = self.seed;
        config.search.seed = self.seed;
        config
    }
}

impl BaselinesArgs {
    /// The configuration of `charlab baselines` in `profile`.
    pub fn config(&self, profile: Profile) -> BaselinesConfig {
        let mut config = BaselinesConfig {
            split_seed: self.seed,
            ..Default::default()
        };
        config.logreg.solver = self.logreg_solver.into();
        config.logreg.precision = self.precision.into();
        config.logreg.max_iter = profile.logreg_max_iter(self.logreg_max_iter);
        config.svm.solver = self.svm_solver.into();
        if config.svm.solver == SvmSolver::Linfa {
            config.svm.max_iter = None;
        }
        config
    }
}

/// The configuration of `charlab cv` in `profile`.
pub fn cv_config(profile: Profile) -> crate::sections::cv::CvConfig {
    match profile {
        Profile::Full => crate::sections::cv::CvConfig::full(),
        Profile::Quick => crate::sections::cv::CvConfig::quick(),
    }
}

impl LeversArgs {
    /// The pretraining corpus of `charlab levers` in `profile`: `--corpus`, or the embedded
    /// generator at the profile's corpus size with the data's seed + 1.
    pub fn corpus(&self, profile: Profile) -> Result<Dataset> {
        match DataSpec::from_arg(Some(&self.corpus)) {
            DataSpec::Default { .. } => DataSpec::Default {
                n: profile.corpus_size(self.corpus_size),
                seed: self.data.data_seed.wrapping_add(1),
            },
            other => other,
        }
        .load()
    }
}
