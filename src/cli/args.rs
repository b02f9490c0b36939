//! The command line of `charlab`: clap's types, parsed once. Choices are value enums, turned
//! into the library's types here ([`From`]), so no command re-checks a string.

use std::time::Instant;

use crate::data::{DataSpec, Dataset};
use crate::models::logreg::{LogRegSolver, Precision};
use crate::models::svm::SvmSolver;
use crate::sections::baselines::Which;
use crate::{paths, Profile, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// `charlab`'s arguments.
#[derive(Parser)]
#[command(
    name = "charlab",
    version,
    about = "Handwritten character classification: reproduce and extend the report"
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Where a command's data comes from.
#[derive(Args, Clone)]
pub struct DataArgs {
    /// A train.pkl (pickle of (X, y)), an EMNIST IDX folder, or `default` for the embedded
    /// synthetic set [env: CHARLAB_DATA; default: the embedded set]
    #[arg(long, value_name = "PATH", global = true)]
    pub data: Option<String>,
    /// Images in the embedded default set (when --data is not given)
    #[arg(long, value_name = "N", default_value_t = 30_134, global = true)]
    pub default_size: usize,
    /// Seed of the embedded default set
    #[arg(long, value_name = "N", default_value_t = crate::data::synth::DEFAULT_SEED, global = true)]
    pub data_seed: u64,
}

impl DataArgs {
    pub fn spec(&self) -> DataSpec {
        let arg = self.data.clone().or(crate::Settings::current().data);
        match DataSpec::from_arg(arg.as_deref()) {
            DataSpec::Default { .. } => DataSpec::Default {
                n: self.default_size,
                seed: self.data_seed,
            },
            other => other,
        }
    }

    /// Loads the data of a command that writes figures, results or runs: outputs of any data
    /// set other than the committed results' go under `target/runs/<hash>/`
    /// ([`crate::Settings::route_outputs`]).
    pub fn load(&self) -> Result<(Dataset, f64)> {
        let (data, secs) = self.load_input()?;
        let mut settings = crate::Settings::current();
        if let Some(out) = settings.route_outputs(&data.content_hash()) {
            settings.install();
            eprintln!(
                "outputs go to {} (the committed figures and results come from another data \
                 set; set CHARLAB_OUT to choose the folder)",
                paths::relative(&out)
            );
        }
        Ok((data, secs))
    }

    /// These arguments in `profile`: the embedded default at the profile's size when --data
    /// is not given.
    pub fn for_profile(&self, profile: Profile) -> DataArgs {
        let mut args = self.clone();
        if args.data.is_none() {
            args.default_size = profile.data_size(args.default_size);
        }
        args
    }

    /// Loads the data of a command that only reads it.
    pub fn load_input(&self) -> Result<(Dataset, f64)> {
        let start = Instant::now();
        let data = self.spec().load()?;
        Ok((data, start.elapsed().as_secs_f64()))
    }
}

/// The commands.
#[derive(Subcommand)]
pub enum Command {
    /// Print image count, image size, class count and per-class counts
    Summary {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Write the figures of a report section
    Figures {
        #[command(subcommand)]
        which: FigureCommand,
    },
    /// Section 3: split, per-class counts per part, normalisation statistics
    Preprocess {
        #[command(flatten)]
        data: DataArgs,
        /// Seed of the splits
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Write the report's random split (train / validation / test indices) as JSON, for tools
    /// outside charlab (the scikit-learn and PyTorch benchmarks)
    Split {
        #[command(flatten)]
        data: DataArgs,
        /// Seed of the split
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output file
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
    },
    /// Section 4.1: logistic regression and the RBF SVM on raw pixels
    Baselines(BaselinesArgs),
    /// Time linfa-svm against the popcount SVM solver on a few class pairs (for
    /// `make bench-baselines`)
    BenchSvmSolvers {
        #[command(flatten)]
        data: DataArgs,
        /// Class pairs by character, e.g. `O/0,E/N` (the first class with that character)
        #[arg(long, default_value = "O/0,E/N")]
        pairs: String,
        /// Seed of the split
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// JSON output file
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
    /// Sections 4.2 / 4.3: train a neural model, evaluate its best checkpoint on test
    Train {
        #[command(subcommand)]
        model: TrainModel,
    },
    /// Section 4.2's choices, repeatable: the learning-rate sweep (largest stable rate) and the
    /// CNN architecture search at that rate (results/04.2-cnn-tuning.json, runs in
    /// data/models/04.2-cnn-tuning/)
    Tune {
        #[command(subcommand)]
        model: TuneModel,
    },
    /// Label images with a trained network: one line per image (index, class, character)
    Predict {
        /// Run folder of a trained model, e.g. data/models/04.2-cnn
        #[arg(long, value_name = "DIR")]
        model: std::path::PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Write the labels to this CSV file instead of the standard output
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
    /// Section 5: Table 1, the confusion matrix and confused pairs of the best model, per-class
    /// F1 of every model, from the results of section 4 (results/05-results.json, figures/05-*)
    Results {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Section 6.1: pretrain on a larger handwriting corpus (images identical to a validation or
    /// test image dropped), then the variants: scratch vs pretrained, augmentation, class
    /// weights, logit adjustment (results/06.1-levers.json, runs in data/models/06.1-levers/)
    Levers(LeversCommand),
    /// Section 6.2: stratified 5-fold cross-validation of Table 1's models and 6.1's best,
    /// grid searches, votes over the fold models (results/06.2-cv.json, runs in
    /// data/models/06.2-cv/)
    Cv(CvArgs),
    /// Section 6.1's pretraining runs only (the first step of `levers`)
    Pretrain(LeversArgs),
    /// Regenerate the report from the results files (report/report.md and report.html)
    Report,
    /// Check the committed weights (weights/manifest.json): every file's SHA-256, then each
    /// network labels the test part of the data it was trained on, compared with its results
    /// file (accuracy, macro F1, every label); exits 1 on any mismatch
    Verify {
        /// The data the weights were trained on [default: the stand-in beside the project,
        /// ../shared/data/alphamoon-standin/train.pkl]
        #[arg(long, value_name = "PATH")]
        data: Option<String>,
    },
    /// Copy the finished runs of sections 4.2 and 4.3 (data/models/) into weights/ and write
    /// weights/manifest.json (what `charlab verify` checks)
    ExportWeights,
    /// What libtorch sees: CUDA and cuDNN, the GPUs, the threads, how libtorch_cuda was
    /// loaded, and a small matrix product checked against the CPU's (JSON)
    Device,
    /// Train each network (cnn, cnn4, efficientnet, resnet18) for --epochs on the data's seed-0
    /// split, on the GPU when there is one, and time it: train and inference images/s, test
    /// accuracy (runs in data/models/bench-nets/)
    BenchNets {
        #[command(flatten)]
        data: DataArgs,
        /// Epochs per network
        #[arg(long, default_value_t = 1)]
        epochs: usize,
        /// Networks, comma-separated
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "cnn,cnn4,efficientnet,resnet18"
        )]
        nets: Vec<String>,
        /// Arithmetic: fp32 or bf16
        #[arg(long, default_value = "fp32", value_parser = parse_precision)]
        precision: crate::Precision,
        /// Where to write the rows (JSON)
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
        /// 1,500 embedded images unless --data is given (a quick check)
        #[arg(long)]
        quick: bool,
    },
    /// Run every section in order (dataset, preprocessing, baselines, the CNN's tuning, CNN,
    /// EfficientNet, learning curves, results, 6.1, 6.2, report), reusing the steps whose data,
    /// configuration and inputs have not changed and resuming interrupted runs (manifest:
    /// report/results/reproduce.json)
    Reproduce {
        #[command(flatten)]
        data: DataArgs,
        /// Seed of the sample figure and of the split summaries
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Small and fast: the embedded set at 1,500 images unless --data is given, the CNN 2
        /// epochs, EfficientNet 1, run folders under data/models/quick/
        #[arg(long)]
        quick: bool,
        /// Section 6.1's pretraining corpus: an EMNIST folder (converted to the report's
        /// format), a train.pkl, or `default` for glyphs of the embedded generator
        #[arg(long, value_name = "PATH", default_value = "default")]
        corpus: String,
        /// Images the embedded generator makes when --corpus is `default`
        #[arg(long, value_name = "N", default_value_t = 60_000)]
        corpus_size: usize,
    },
}

/// `charlab baselines`' arguments.
#[derive(Args)]
pub struct BaselinesArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Which models: logreg, svm (as the report, and without the iteration cap) or all
    #[arg(long, value_enum, default_value_t = BaselineModels::All)]
    pub model: BaselineModels,
    /// Seed of the split
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Binary SVM solver: popcount (bit-packed kernel + libsvm's SMO) or linfa (linfa-svm,
    /// hours on the full data; no iteration cap)
    #[arg(long, value_enum, default_value_t = SvmSolverArg::Popcount)]
    pub svm_solver: SvmSolverArg,
    /// Logistic-regression solver: sparse (charlab's L-BFGS on the sparse pixels) or linfa
    /// (linfa-logistic in warm-started chunks)
    #[arg(long, value_enum, default_value_t = LogRegSolverArg::Sparse)]
    pub logreg_solver: LogRegSolverArg,
    /// Floating point of the linfa logistic regression: mixed (f32, then f64 when f32
    /// stalls), f32 or f64
    #[arg(long, value_enum, default_value_t = PrecisionArg::Mixed)]
    pub precision: PrecisionArg,
    /// Iteration cap of the logistic regression (the report's: 1,000)
    #[arg(long, default_value_t = 1000)]
    pub logreg_max_iter: usize,
    /// Small and fast: the embedded set at 1,500 images (unless --data is given), the logistic
    /// regression at most 200 iterations
    #[arg(long)]
    pub quick: bool,
}

/// `charlab tune cnn`'s arguments.
#[derive(Args)]
pub struct TuneArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Epochs per search candidate
    #[arg(long, default_value_t = 3)]
    pub search_epochs: usize,
    /// Seed of the split, the sweep and the candidates' training
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Continue the search from the candidates' run folders
    #[arg(long)]
    pub resume: bool,
    /// Small and fast: 2 rates x 50 batches of 32, 2 candidates x 1 epoch, on 1,500
    /// embedded images (unless --data is given)
    #[arg(long)]
    pub quick: bool,
}

/// `charlab cv`'s arguments.
#[derive(Args)]
pub struct CvArgs {
    /// A step for a scheduler (none: the whole section on this machine)
    #[command(subcommand)]
    pub step: Option<UnitStep>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Reuse finished folds and grid points, continue started ones
    #[arg(long)]
    pub resume: bool,
    /// Small and fast: 3 folds of small models, 2 x 2 grids, on 1,500 embedded images (unless
    /// --data is given)
    #[arg(long, global = true)]
    pub quick: bool,
}

/// A section's work as independent units for a scheduler (a Slurm job array): plan, run one
/// unit, collect.
#[derive(Subcommand, Clone)]
pub enum UnitStep {
    /// Write the section's units as JSON lines (index, id, what, run folder, key, dependencies,
    /// stage) and print each stage's index range
    Plan {
        /// Where to write the plan [default: plan.jsonl in the section's run folder]
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
    /// Run one unit of the plan (safe to requeue: a finished unit is reused, a started one
    /// resumed); writes only the unit's folder
    Run {
        /// The unit's index in the plan (a job array's task id)
        #[arg(long, value_name = "N")]
        unit: usize,
    },
    /// Read the finished units into the results file, votes, tables and figures, exactly as
    /// the single-machine run writes them; fails, naming them, when units are missing
    Collect,
}

/// `charlab levers`'s arguments.
#[derive(Args)]
pub struct LeversCommand {
    /// A step for a scheduler (none: the whole section on this machine)
    #[command(subcommand)]
    pub step: Option<UnitStep>,
    #[command(flatten)]
    pub args: LeversArgs,
}

/// `charlab levers` and `charlab pretrain`'s arguments.
#[derive(Args)]
pub struct LeversArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Pretraining corpus: an EMNIST folder (converted to the report's format), a train.pkl,
    /// or `default` for glyphs of the embedded generator (another seed than the data's)
    #[arg(long, value_name = "PATH", default_value = "default", global = true)]
    pub corpus: String,
    /// Images the embedded generator makes when --corpus is `default`
    #[arg(long, value_name = "N", default_value_t = 60_000, global = true)]
    pub corpus_size: usize,
    /// Continue started runs and reuse finished ones
    #[arg(long)]
    pub resume: bool,
    /// Small and fast: 2 variants of a 2-block CNN, 1 epoch each, on 1,500 embedded images and
    /// a 1,500-image corpus (unless --data / --corpus are given)
    #[arg(long, global = true)]
    pub quick: bool,
}

/// What `charlab tune` tunes.
#[derive(Subcommand)]
pub enum TuneModel {
    /// The report's CNN
    Cnn(TuneArgs),
}

/// What `charlab train` trains.
#[derive(Subcommand)]
pub enum TrainModel {
    /// The report's CNN (results/04.2-cnn.json, run in data/models/04.2-cnn/)
    Cnn(TrainArgs),
    /// EfficientNet-b0, classifier replaced (results/04.3-efficientnet.json, run in
    /// data/models/04.3-efficientnet/)
    Efficientnet {
        #[command(flatten)]
        common: TrainArgs,
        /// Variant: b0 (the report's), b1, b2 or b3
        #[arg(long, value_enum, default_value_t = EfficientNetVariant::B0)]
        variant: EfficientNetVariant,
    },
}

/// `charlab train`'s arguments.
#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Epochs
    #[arg(long, default_value_t = 25)]
    pub epochs: usize,
    /// Training batch size
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Adam learning rate
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Seed of the split, the initialisation, the shuffles and dropout
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Continue the run in the run folder from its last finished epoch
    #[arg(long)]
    pub resume: bool,
    /// Starting weights: a safetensors file in torchvision's or timm's naming (e.g. timm's
    /// ImageNet EfficientNet-b0, the report's method; a 3-channel stem is summed to one
    /// channel, the classifier replaced) or a charlab run's best.safetensors; from scratch
    /// when absent
    #[arg(long, value_name = "FILE", alias = "weights")]
    pub init: Option<std::path::PathBuf>,
    /// Small and fast: the CNN trains 2 epochs, EfficientNet 1 epoch, on 1,500 embedded images
    /// (unless --data is given)
    #[arg(long)]
    pub quick: bool,
    /// Arithmetic of the forward passes: fp32, or bf16 (autocast: convolutions and matrix
    /// products in bfloat16, weights, optimiser and loss in fp32)
    #[arg(long, default_value = "fp32", value_parser = parse_precision)]
    pub precision: crate::Precision,
}

fn parse_precision(s: &str) -> std::result::Result<crate::Precision, String> {
    crate::Precision::parse(s).map_err(|e| e.to_string())
}

/// Which figures `charlab figures` draws.
#[derive(Subcommand)]
pub enum FigureCommand {
    /// Section 4: learning curves of the neural models, from their results files
    LearningCurves,
    /// Section 4.1: per-class F1 of the baselines, from report/results/04.1-baselines.json
    Baselines,
    /// Section 6.2: the fold scores and the SVM grid, from report/results/06.2-cv.json
    Cv,
    /// Section 6.1: the augmentation figure (figures/06-augmentation), from the data alone
    Augmentation {
        #[command(flatten)]
        data: DataArgs,
        /// The quick schedule's augmentation (the same as the full one's today)
        #[arg(long)]
        quick: bool,
    },
    /// Section 2: class distribution and one sample per class (+ results/02-dataset.json)
    Dataset {
        #[command(flatten)]
        data: DataArgs,
        /// Seed used to pick the sample images
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

/// `charlab baselines --model`.
#[derive(Clone, Copy, ValueEnum)]
pub enum BaselineModels {
    /// Logistic regression only.
    Logreg,
    /// The SVM as the report, and without the iteration cap.
    Svm,
    /// Both.
    All,
}

impl From<BaselineModels> for Which {
    fn from(m: BaselineModels) -> Which {
        match m {
            BaselineModels::Logreg => Which::LogReg,
            BaselineModels::Svm => Which::Svm,
            BaselineModels::All => Which::All,
        }
    }
}

/// `charlab baselines --svm-solver`.
#[derive(Clone, Copy, ValueEnum)]
pub enum SvmSolverArg {
    /// Bit-packed kernel + libsvm's SMO.
    Popcount,
    /// linfa-svm (no iteration cap).
    Linfa,
}

impl From<SvmSolverArg> for SvmSolver {
    fn from(s: SvmSolverArg) -> SvmSolver {
        match s {
            SvmSolverArg::Popcount => SvmSolver::Popcount,
            SvmSolverArg::Linfa => SvmSolver::Linfa,
        }
    }
}

/// `charlab baselines --logreg-solver`.
#[derive(Clone, Copy, ValueEnum)]
pub enum LogRegSolverArg {
    /// charlab's L-BFGS on the sparse pixels.
    Sparse,
    /// linfa-logistic in warm-started chunks.
    Linfa,
}

impl From<LogRegSolverArg> for LogRegSolver {
    fn from(s: LogRegSolverArg) -> LogRegSolver {
        match s {
            LogRegSolverArg::Sparse => LogRegSolver::Sparse,
            LogRegSolverArg::Linfa => LogRegSolver::Linfa,
        }
    }
}

/// `charlab baselines --precision`.
#[derive(Clone, Copy, ValueEnum)]
pub enum PrecisionArg {
    /// f32, then f64 when f32 stalls.
    Mixed,
    /// f32 throughout.
    F32,
    /// f64 throughout.
    F64,
}

impl From<PrecisionArg> for Precision {
    fn from(p: PrecisionArg) -> Precision {
        match p {
            PrecisionArg::Mixed => Precision::Mixed,
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::F64 => Precision::F64,
        }
    }
}

/// `charlab train efficientnet --variant`.
#[derive(Clone, Copy, ValueEnum)]
pub enum EfficientNetVariant {
    /// The report's.
    B0,
    /// Wider and deeper.
    B1,
    /// Wider and deeper still.
    B2,
    /// The largest charlab builds.
    B3,
}

impl EfficientNetVariant {
    /// `b0` ... `b3`, as [`crate::models::efficientnet::EfficientNetParams::variant`] names it.
    pub fn name(self) -> &'static str {
        match self {
            EfficientNetVariant::B0 => "b0",
            EfficientNetVariant::B1 => "b1",
            EfficientNetVariant::B2 => "b2",
            EfficientNetVariant::B3 => "b3",
        }
    }
}

impl Command {
    /// The profile the command runs in: quick with `--quick`, else full.
    pub fn profile(&self) -> Profile {
        let quick = match self {
            Command::Baselines(a) => a.quick,
            Command::Reproduce { quick, .. } => *quick,
            Command::Train {
                model: TrainModel::Cnn(a) | TrainModel::Efficientnet { common: a, .. },
            } => a.quick,
            Command::Tune {
                model: TuneModel::Cnn(a),
            } => a.quick,
            Command::Levers(a) => a.args.quick,
            Command::Pretrain(a) => a.quick,
            Command::Cv(a) => a.quick,
            Command::Summary { .. }
            | Command::Figures { .. }
            | Command::Preprocess { .. }
            | Command::Split { .. }
            | Command::BenchSvmSolvers { .. }
            | Command::Predict { .. }
            | Command::Results { .. }
            | Command::Report
            | Command::Verify { .. }
            | Command::ExportWeights
            | Command::Device
            | Command::BenchNets { .. } => false,
        };
        Profile::from_flag(quick)
    }
}
