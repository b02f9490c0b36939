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
//! (`CHARLAB_DATA`: a `train.pkl`, an EMNIST folder, or the embedded default), picks the
//! schedule, routes the outputs away from the committed figures and results when the data or
//! the schedule are not theirs, installs the settings, and prints what it chose.

use std::path::PathBuf;

use crate::data::{synth, DataSpec, Dataset};
use crate::profile::QUICK_CORPUS_SIZE;
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
    let data = profile.data_spec(settings.data.as_deref()).load()?;
    let routed = settings.route_outputs(&data.content_hash());
    settings.clone().install();
    // evcxr compiles every later cell with its own copy of the library (and of the installed
    // settings): they read the choice back from the environment.
    settings.export();
    println!("data: {} ({} images)", data.source(), data.len());
    match profile {
        Profile::Full => println!("schedule: full (the report's)"),
        Profile::Quick => println!(
            "schedule: quick ({} embedded images, a few epochs: minutes on 2 cores; its numbers \
             are not the report's)",
            crate::profile::QUICK_DATA_SIZE
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
    /// ([`crate::sections::levers::corpus_spec`]).
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
