//! A notebook's first step, one call instead of the same setup lines in every notebook:
//!
//! ```no_run
//! use charlab::prelude::*;
//! # fn main() -> charlab::Result<()> {
//! // Profile::Full: the report's schedule (the committed outputs); Profile::Quick: minutes on
//! // two cores, with numbers that are not the report's. `CHARLAB_QUICK=1` (the test command)
//! // picks Quick whatever the cell says.
//! let (lab, data) = charlab::notebook::start(Profile::Full)?;
//! # Ok(()) }
//! ```
//!
//! [`start`] reads the environment once ([`Settings::from_env`]), loads the data it names
//! (`CHARLAB_DATA`: a `train.pkl`, an EMNIST folder, or the embedded default; on the quick
//! schedule 1,500 images of it), picks the schedule, routes the outputs away from the committed
//! figures and results when the data or the schedule are not theirs, installs the settings, and
//! prints what it chose.

use std::path::PathBuf;

use crate::data::{synth, DataSpec, Dataset};
use crate::profile::{QUICK_CORPUS_SIZE, QUICK_DATA_SIZE};
use crate::{paths, Profile, Result, Settings};

/// What a notebook works with besides its data (see the module documentation). The data set
/// is returned beside it: evcxr keeps a cell's variables for the next cells only when they
/// hold no reference, so a notebook owns its `Dataset`.
#[derive(Clone, Debug)]
pub struct Lab {
    /// The schedule: [`Profile::Full`] (the report's) or [`Profile::Quick`].
    pub profile: Profile,
    /// The installed settings.
    pub settings: Settings,
}

/// Starts a notebook on `schedule` (see the module documentation): the lab and the data.
pub fn start(schedule: Profile) -> Result<(Lab, Dataset)> {
    let mut settings = Settings::from_env();
    let profile = if settings.profile.is_quick() {
        Profile::Quick
    } else {
        schedule
    };
    settings.profile = profile;
    let data = load(profile, settings.data.as_deref())?;
    let routed = settings.route_outputs(&data.content_hash());
    settings.clone().install();
    // evcxr compiles every later cell with its own copy of the library (and of the installed
    // settings): they read the choice back from the environment.
    settings.export();
    println!("data: {} ({} images)", data.source(), data.len());
    match profile {
        Profile::Full => println!("schedule: full (the report's)"),
        Profile::Quick => println!(
            "schedule: quick ({} images, a few epochs: minutes on 2 cores; its numbers are not \
             the report's)",
            data.len()
        ),
    }
    if let Some(out) = routed {
        println!(
            "outputs go to {} (not the committed figures and results)",
            paths::relative(&out)
        );
    }
    Ok((Lab { profile, settings }, data))
}

/// The data of `profile` given `data` (`CHARLAB_DATA`): on the full schedule what it names; on
/// the quick one [`QUICK_DATA_SIZE`] images, the embedded default's when `data` names nothing
/// (or `default`), else a random sample (seed 0) of the user's data, so that a reader with a
/// `train.pkl` or an EMNIST folder steps through a notebook in minutes on it.
fn load(profile: Profile, data: Option<&str>) -> Result<Dataset> {
    let spec = DataSpec::from_arg(data);
    match (profile, &spec) {
        (Profile::Full, _) => spec.load(),
        (Profile::Quick, DataSpec::Default { .. }) => profile.data_spec(None).load(),
        (Profile::Quick, _) => quick_sample(spec.load()?),
    }
}

/// [`QUICK_DATA_SIZE`] images of `full` drawn at random (seed 0), in their order; `full`
/// itself when it is not larger.
fn quick_sample(full: Dataset) -> Result<Dataset> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    if full.len() <= QUICK_DATA_SIZE {
        return Ok(full);
    }
    let mut idx: Vec<usize> = (0..full.len()).collect();
    idx.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0));
    idx.truncate(QUICK_DATA_SIZE);
    idx.sort_unstable();
    full.subset(&idx)
}

impl Lab {
    /// The run folder (or folder of run folders) of `section` on this schedule:
    /// `data/models/<section>/`, or `data/models/quick/<section>/` on the quick one.
    pub fn run_dir(&self, section: &str) -> PathBuf {
        paths::run_dir(section, self.profile)
    }

    /// Whether this is the quick schedule.
    pub fn is_quick(&self) -> bool {
        self.profile.is_quick()
    }

    /// Section 6.1's pretraining corpus: on the quick schedule [`QUICK_CORPUS_SIZE`] glyphs of
    /// the embedded generator (another seed than the data's); else `CHARLAB_CORPUS`, the
    /// shared EMNIST folder beside the project, or `default_n` generated glyphs
    /// (`crate::sections::levers::corpus_spec`).
    pub fn corpus(&self, default_n: usize) -> Result<Dataset> {
        let spec = if self.is_quick() {
            DataSpec::Default {
                n: QUICK_CORPUS_SIZE,
                seed: synth::DEFAULT_SEED + 1,
            }
        } else {
            crate::sections::levers::corpus_spec(self.settings.corpus.as_deref(), default_n)
        };
        let corpus = spec.load()?;
        println!("corpus: {} ({} images)", corpus.source(), corpus.len());
        Ok(corpus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth::{generate, SynthParams};

    #[test]
    fn the_quick_schedule_samples_the_users_data_the_same_way_each_time() -> Result<()> {
        let full = generate(&SynthParams::new(QUICK_DATA_SIZE + 700, 3)?)?;
        let a = quick_sample(full.clone())?;
        let b = quick_sample(full.clone())?;
        assert_eq!(a.len(), QUICK_DATA_SIZE);
        assert_eq!(a.content_hash(), b.content_hash());
        assert_ne!(
            a.content_hash(),
            full.subset(&(0..QUICK_DATA_SIZE).collect::<Vec<_>>())?
                .content_hash()
        );
        // Every sampled image is one of the full set's, with its label.
        let known: std::collections::HashSet<(&[u8], usize)> = (0..full.len())
            .map(|i| (full.image(i), full.labels()[i]))
            .collect();
        assert!((0..a.len()).all(|i| known.contains(&(a.image(i), a.labels()[i]))));
        let small = full.subset(&(0..10).collect::<Vec<_>>())?;
        assert_eq!(
            quick_sample(small.clone())?.content_hash(),
            small.content_hash()
        );
        Ok(())
    }

    #[test]
    fn the_quick_schedule_keeps_the_embedded_default_small() -> Result<()> {
        assert_eq!(
            load(Profile::Quick, Some("default"))?.len(),
            QUICK_DATA_SIZE
        );
        Ok(())
    }
}
