//! `charlab`: the command-line entry point. Every command reads its data from `--data`
//! (a `train.pkl`, an EMNIST folder, or nothing for the embedded default; `CHARLAB_DATA` when
//! the flag is absent) and takes `--seed` wherever randomness is used.

use std::process::ExitCode;
use std::time::Instant;

use charlab::data::{DataSpec, Dataset};
use charlab::sections::{baselines, cnn, dataset, efficientnet, learning_curves, preprocessing};
use charlab::{paths, Profile, Result};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "charlab",
    version,
    about = "Handwritten character classification: reproduce and extend the report"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DataArgs {
    /// A train.pkl (pickle of (X, y)), an EMNIST IDX folder, or `default` for the embedded
    /// synthetic set [env: CHARLAB_DATA; default: the embedded set]
    #[arg(long, value_name = "PATH")]
    data: Option<String>,
    /// Images in the embedded default set (when --data is not given)
    #[arg(long, value_name = "N", default_value_t = 30_134)]
    default_size: usize,
    /// Seed of the embedded default set
    #[arg(long, value_name = "N", default_value_t = charlab::data::synth::DEFAULT_SEED)]
    data_seed: u64,
}

impl DataArgs {
    fn spec(&self) -> DataSpec {
        let arg = self
            .data
            .clone()
            .or_else(|| std::env::var(paths::DATA_ENV).ok());
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
    /// ([`paths::route_outputs`]).
    fn load(&self) -> Result<(Dataset, f64)> {
        let (data, secs) = self.load_input()?;
        if let Some(out) = paths::route_outputs(&data.content_hash(), false) {
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
    fn for_profile(&self, profile: Profile) -> DataArgs {
        let mut args = self.clone();
        if args.data.is_none() {
            args.default_size = profile.data_size(args.default_size);
        }
        args
    }

    /// Loads the data of a command that only reads it.
    fn load_input(&self) -> Result<(Dataset, f64)> {
        let start = Instant::now();
        let data = self.spec().load()?;
        Ok((data, start.elapsed().as_secs_f64()))
    }
}

#[derive(Subcommand)]
enum Command {
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
    Baselines {
        #[command(flatten)]
        data: DataArgs,
        /// Which models: logreg, svm (as the report, and without the iteration cap) or all
        #[arg(long, default_value = "all", value_parser = ["logreg", "svm", "all"])]
        model: String,
        /// Seed of the split
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Binary SVM solver: popcount (bit-packed kernel + libsvm's SMO) or linfa (linfa-svm,
        /// hours on the full data; no iteration cap)
        #[arg(long, default_value = "popcount", value_parser = ["popcount", "linfa"])]
        svm_solver: String,
        /// Logistic-regression solver: sparse (charlab's L-BFGS on the sparse pixels) or linfa
        /// (linfa-logistic in warm-started chunks)
        #[arg(long, default_value = "sparse", value_parser = ["sparse", "linfa"])]
        logreg_solver: String,
        /// Floating point of the linfa logistic regression: mixed (f32, then f64 when f32
        /// stalls), f32 or f64
        #[arg(long, default_value = "mixed", value_parser = ["mixed", "f32", "f64"])]
        precision: String,
        /// Iteration cap of the logistic regression (the report's: 1,000)
        #[arg(long, default_value_t = 1000)]
        logreg_max_iter: usize,
        /// Small and fast: the embedded set at 1,500 images (unless --data is given), the logistic
        /// regression at most 200 iterations
        #[arg(long)]
        quick: bool,
    },
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
    Levers(LeversArgs),
    /// Section 6.2: stratified 5-fold cross-validation of Table 1's models and 6.1's best,
    /// grid searches, votes over the fold models (results/06.2-cv.json, runs in
    /// data/models/06.2-cv/)
    Cv(CvArgs),
    /// Section 6.1's pretraining runs only (the first step of `levers`)
    Pretrain(LeversArgs),
    /// Regenerate the report from the results files (report/report.md and report.html)
    Report,
    /// Run every section in order (dataset, preprocessing, baselines, CNN, EfficientNet,
    /// learning curves, results, report), reusing the steps whose data, configuration and
    /// inputs have not changed (manifest: report/results/reproduce.json)
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
    },
}

#[derive(Args)]
struct CvArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Reuse finished folds and grid points, continue started ones
    #[arg(long)]
    resume: bool,
    /// Small and fast: 3 folds of small models, 2 x 2 grids, on 1,500 embedded images (unless
    /// --data is given)
    #[arg(long)]
    quick: bool,
}

#[derive(Args)]
struct LeversArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Pretraining corpus: an EMNIST folder (converted to the report's format), a train.pkl,
    /// or `default` for glyphs of the embedded generator (another seed than the data's)
    #[arg(long, value_name = "PATH", default_value = "default")]
    corpus: String,
    /// Images the embedded generator makes when --corpus is `default`
    #[arg(long, value_name = "N", default_value_t = 60_000)]
    corpus_size: usize,
    /// Continue started runs and reuse finished ones
    #[arg(long)]
    resume: bool,
    /// Small and fast: 2 variants of a 2-block CNN, 1 epoch each, on 1,500 embedded images and
    /// a 1,500-image corpus (unless --data / --corpus are given)
    #[arg(long)]
    quick: bool,
}

#[derive(Subcommand)]
enum TuneModel {
    /// The report's CNN
    Cnn {
        #[command(flatten)]
        data: DataArgs,
        /// Epochs per search candidate
        #[arg(long, default_value_t = 3)]
        search_epochs: usize,
        /// Seed of the split, the sweep and the candidates' training
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Continue the search from the candidates' run folders
        #[arg(long)]
        resume: bool,
        /// Small and fast: 2 rates x 50 batches of 32, 2 candidates x 1 epoch, on 1,500
        /// embedded images (unless --data is given)
        #[arg(long)]
        quick: bool,
    },
}

#[derive(Subcommand)]
enum TrainModel {
    /// The report's CNN (results/04.2-cnn.json, run in data/models/04.2-cnn/)
    Cnn(TrainArgs),
    /// EfficientNet-b0, classifier replaced (results/04.3-efficientnet.json, run in
    /// data/models/04.3-efficientnet/)
    Efficientnet {
        #[command(flatten)]
        common: TrainArgs,
        /// Variant: b0 (the report's), b1, b2 or b3
        #[arg(long, default_value = "b0")]
        variant: String,
    },
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Epochs
    #[arg(long, default_value_t = 25)]
    epochs: usize,
    /// Training batch size
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Adam learning rate
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Seed of the split, the initialisation, the shuffles and dropout
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Continue the run in the run folder from its last finished epoch
    #[arg(long)]
    resume: bool,
    /// Starting weights: a safetensors file in torchvision's or timm's naming (e.g. timm's
    /// ImageNet EfficientNet-b0, the report's method; a 3-channel stem is summed to one
    /// channel, the classifier replaced) or a charlab run's best.safetensors; from scratch
    /// when absent
    #[arg(long, value_name = "FILE", alias = "weights")]
    init: Option<std::path::PathBuf>,
    /// Small and fast: the CNN trains 2 epochs, EfficientNet 1 epoch, on 1,500 embedded images
    /// (unless --data is given)
    #[arg(long)]
    quick: bool,
}

#[derive(Subcommand)]
enum FigureCommand {
    /// Section 4: learning curves of the neural models, from their results files
    LearningCurves,
    /// Section 4.1: per-class F1 of the baselines, from report/results/04.1-baselines.json
    Baselines,
    /// Section 2: class distribution and one sample per class (+ results/02-dataset.json)
    Dataset {
        #[command(flatten)]
        data: DataArgs,
        /// Seed used to pick the sample images
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

fn summary(args: &DataArgs) -> Result<()> {
    let (data, secs) = args.load_input()?;
    let counts = data.class_counts();
    println!("data:     {}", data.source());
    println!("hash:     {}", data.content_hash());
    println!("images:   {}", data.len());
    println!("size:     {}x{}", data.height(), data.width());
    println!(
        "classes:  {} ({} with images)",
        data.n_classes(),
        counts.iter().filter(|&&c| c > 0).count()
    );
    println!("loaded in {secs:.3} s");
    println!();
    println!("class  char  images   share");
    for (c, &n) in counts.iter().enumerate() {
        println!(
            "{c:>5}  {:>4}  {n:>6}  {:>5.2}%",
            data.class_chars()[c],
            100.0 * n as f64 / data.len().max(1) as f64
        );
    }
    Ok(())
}

fn figures_dataset(args: &DataArgs, seed: u64) -> Result<()> {
    let (data, _) = args.load()?;
    let res = dataset::run(&data, seed)?;
    for f in &res.figures {
        println!("wrote {f}");
    }
    println!("wrote report/results/{}.json", dataset::SECTION);
    Ok(())
}

fn preprocess(args: &DataArgs, seed: u64) -> Result<()> {
    let (data, _) = args.load()?;
    let res = preprocessing::run(&data, seed)?;
    print_preprocessing(&res);
    println!("wrote report/results/{}.json", preprocessing::SECTION);
    Ok(())
}

fn print_preprocessing(res: &preprocessing::PreprocessingResults) {
    let (tr, va, te) = res.random.sizes;
    println!(
        "random split (seed {}): train {tr}, validation {va}, test {te}",
        res.seed
    );
    let (tr, va, te) = res.stratified.sizes;
    println!("stratified split:        train {tr}, validation {va}, test {te}");
    println!(
        "stratified {}-fold test sizes: {:?}",
        res.kfold_test_sizes.len(),
        res.kfold_test_sizes
    );
    println!(
        "normalisation (train only): mean {:.4}, std {:.4}",
        res.normalizer.mean, res.normalizer.std
    );
    for t in &res.tiny_classes {
        println!(
            "class {} ('{}', {} image(s)): random split -> {:?}, stratified -> {:?}",
            t.class, t.character, t.images, t.random_split_parts, t.stratified_split_parts
        );
    }
}

impl TrainArgs {
    /// The data and training parameters, `--quick` applied ([`Profile::data_size`] embedded
    /// images unless --data is given, the epochs `epochs` makes of the given ones).
    fn setup(
        &self,
        epochs: impl Fn(Profile, usize) -> usize,
    ) -> Result<(Dataset, charlab::training::TrainParams)> {
        let profile = Profile::from_flag(self.quick);
        let data_args = self.data.for_profile(profile);
        let epochs = epochs(profile, self.epochs);
        let (data, _) = data_args.load()?;
        let train = charlab::training::TrainParams {
            epochs,
            batch_size: self.batch_size,
            learning_rate: self.lr,
            seed: self.seed,
            ..Default::default()
        };
        Ok((data, train))
    }
}

fn print_neural<C>(name: &str, section: &str, res: &charlab::sections::neural::NeuralResults<C>) {
    println!(
        "{name}: test accuracy {:.2}%, macro F1 {:.2}% (best epoch {} of {}), {} parameters",
        100.0 * res.test_accuracy,
        100.0 * res.test_macro_f1,
        res.best_epoch,
        res.history.len(),
        res.parameters
    );
    println!(
        "training {:.0} images/s, inference {:.0} images/s, {:.0} s of training in all",
        res.train_images_per_second, res.inference_images_per_second, res.train_seconds
    );
    println!("wrote report/results/{section}.json");
}

fn train_cnn(args: &TrainArgs) -> Result<()> {
    let (data, train) = args.setup(Profile::cnn_epochs)?;
    let config = cnn::CnnConfig {
        train,
        split_seed: args.seed,
        init: args.init.clone(),
        ..Default::default()
    };
    eprintln!(
        "training the CNN on {} ({} images) for {} epochs; run folder {}",
        data.source(),
        data.len(),
        config.train.epochs,
        paths::relative(&cnn::run_dir())
    );
    let res = cnn::run(&data, &config, args.resume)?;
    print_neural("CNN", cnn::SECTION, &res);
    Ok(())
}

fn train_efficientnet(args: &TrainArgs, variant: &str) -> Result<()> {
    let model = charlab::models::efficientnet::EfficientNetParams::variant(variant)?;
    let (data, train) = args.setup(Profile::efficientnet_epochs)?;
    let config = efficientnet::EfficientNetConfig {
        model,
        train,
        split_seed: args.seed,
        weights: args.init.clone(),
    };
    eprintln!(
        "training EfficientNet-{variant} on {} ({} images) for {} epochs; run folder {}",
        data.source(),
        data.len(),
        config.train.epochs,
        paths::relative(&efficientnet::run_dir())
    );
    let res = efficientnet::run(&data, &config, args.resume)?;
    print_neural(
        &format!("EfficientNet-{variant}"),
        efficientnet::SECTION,
        &res,
    );
    Ok(())
}

fn tune_cnn(
    args: &DataArgs,
    search_epochs: usize,
    seed: u64,
    resume: bool,
    quick: bool,
) -> Result<()> {
    use charlab::sections::cnn_tuning::{self, TuningConfig};
    let profile = Profile::from_flag(quick);
    let args = args.for_profile(profile);
    let mut config = TuningConfig::for_profile(profile);
    if !quick {
        config.search.epochs = search_epochs;
    }
    config.split_seed = seed;
    config.sweep.seed = seed;
    config.search.seed = seed;
    let (data, _) = args.load()?;
    eprintln!(
        "tuning the CNN on {} ({} images): {} learning rates x {} batches, then {} architectures \
         x {} epochs; runs in {}",
        data.source(),
        data.len(),
        config.sweep.rates.len(),
        config.sweep.batches,
        config.candidates.len(),
        config.search.epochs,
        paths::relative(&cnn_tuning::run_dir())
    );
    let res = cnn_tuning::run(&data, &config, resume)?;
    println!("{}", cnn_tuning::sweep_table(&res.sweep)?);
    println!("picked learning rate: {}", res.picked_rate);
    println!("{}", cnn_tuning::search_table(&res.search)?);
    println!(
        "sweep {:.0} s, search {:.0} s; wrote report/results/{}.json",
        res.seconds.0,
        res.seconds.1,
        cnn_tuning::SECTION
    );
    Ok(())
}

fn write_split(args: &DataArgs, seed: u64, out: &std::path::Path) -> Result<()> {
    let (data, _) = args.load_input()?;
    let split = charlab::split::random_split(data.len(), seed)?;
    let value = serde_json::json!({
        "data": data.source().to_string(),
        "data_hash": data.content_hash(),
        "seed": seed,
        "train": split.train,
        "validation": split.validation,
        "test": split.test,
    });
    paths::write_json(out, &value)?;
    let (tr, va, te) = split.sizes();
    println!(
        "wrote {} (train {tr}, validation {va}, test {te})",
        out.display()
    );
    Ok(())
}

fn run_baselines(
    args: &DataArgs,
    model: &str,
    seed: u64,
    solver: &str,
    logreg: (&str, &str, usize),
    quick: bool,
) -> Result<()> {
    use charlab::models::logreg::{LogRegSolver, Precision};
    let (logreg_solver, precision, logreg_max_iter) = logreg;
    use charlab::models::svm::SvmSolver;
    let profile = Profile::from_flag(quick);
    let (data, _) = args.for_profile(profile).load()?;
    let mut config = baselines::BaselinesConfig {
        split_seed: seed,
        ..Default::default()
    };
    config.logreg.max_iter = profile.logreg_max_iter(logreg_max_iter);
    if logreg_solver == "linfa" {
        config.logreg.solver = LogRegSolver::Linfa;
    }
    config.logreg.precision = match precision {
        "f32" => Precision::F32,
        "f64" => Precision::F64,
        _ => Precision::Mixed,
    };
    if solver == "linfa" {
        config.svm.solver = SvmSolver::Linfa;
        config.svm.max_iter = None;
    }
    let which = match model {
        "logreg" => baselines::Which::LogReg,
        "svm" => baselines::Which::Svm,
        _ => baselines::Which::All,
    };
    eprintln!(
        "section 4.1 on {} ({} images), {} threads",
        data.source(),
        data.len(),
        rayon::current_num_threads()
    );
    let res = baselines::run(&data, &config, which)?;
    println!("model            accuracy  macro F1     fit s  predict s  fit report");
    for m in &res.models {
        println!(
            "{:<16} {:>7.2}%  {:>7.2}%  {:>8.1}  {:>9.2}  {}",
            m.name,
            100.0 * m.accuracy,
            100.0 * m.macro_f1,
            m.fit_seconds,
            m.predict_seconds,
            m.fit_report
        );
    }
    println!("wrote report/results/{}.json", baselines::SECTION);
    Ok(())
}

fn bench_svm_solvers(
    args: &DataArgs,
    pairs: &str,
    seed: u64,
    out: Option<&std::path::Path>,
) -> Result<()> {
    let (data, _) = args.load_input()?;
    let find = |c: &str| -> Result<usize> {
        let ch = c.trim().chars().next().unwrap_or(' ');
        data.class_chars()
            .iter()
            .position(|&x| x == ch && c.trim().chars().count() == 1)
            .ok_or_else(|| {
                charlab::Error::param("pairs", format!("`{c}` is not the character of a class"))
            })
    };
    let mut list = Vec::new();
    for p in pairs.split(',') {
        let (a, b) = p.split_once('/').ok_or_else(|| {
            charlab::Error::param("pairs", format!("`{p}`: write pairs as A/B, e.g. O/0"))
        })?;
        list.push((find(a)?, find(b)?));
    }
    let config = baselines::BaselinesConfig::default();
    let t = baselines::time_svm_solvers(&data, seed, &list, &config.svm)?;
    println!("pair      n   linfa-svm s  popcount s   speed-up  max |decision diff|");
    for p in &t.pairs {
        println!(
            "{:<5} {:>6} {:>12.2} {:>11.3} {:>9.0}x  {:.2e}",
            p.pair,
            p.n,
            p.linfa_seconds,
            p.popcount_seconds,
            p.linfa_seconds / p.popcount_seconds.max(1e-9),
            p.max_decision_difference
        );
    }
    println!(
        "linfa-svm on all {} pairs, one thread (estimated from these): {:.0} s",
        t.all_pairs, t.linfa_all_pairs_estimate_seconds
    );
    if let Some(out) = out {
        paths::write_json(out, &t)?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn predict(model: &std::path::Path, args: &DataArgs, out: Option<&std::path::Path>) -> Result<()> {
    let predictor = charlab::inference::Predictor::load(model)?;
    let (data, _) = args.load_input()?;
    let t = Instant::now();
    let labels = predictor.predict(&data)?;
    let secs = t.elapsed().as_secs_f64();
    let mut text = String::from("index,class,character\n");
    for (i, &c) in labels.iter().enumerate() {
        let ch = data.class_chars().get(c).copied().unwrap_or('?');
        text.push_str(&format!("{i},{c},{ch}\n"));
    }
    match out {
        Some(path) => {
            charlab::paths::write_atomic(path, text.as_bytes())?;
            eprintln!("wrote {} labels to {}", labels.len(), path.display());
        }
        None => print!("{text}"),
    }
    let correct = labels
        .iter()
        .zip(data.labels())
        .filter(|(p, t)| p == t)
        .count();
    eprintln!(
        "{}: {} images of {} in {secs:.2} s ({:.0} images/s); agreement with the file's labels {:.2}%",
        predictor.kind,
        labels.len(),
        data.source(),
        labels.len() as f64 / secs.max(1e-9),
        100.0 * correct as f64 / labels.len().max(1) as f64
    );
    Ok(())
}

fn reproduce(args: &DataArgs, seed: u64, quick: bool) -> Result<()> {
    use charlab::reproduce::{self, ReproduceConfig};
    let profile = Profile::from_flag(quick);
    let args = args.for_profile(profile);
    let start = Instant::now();
    let (data, load_secs) = args.load()?;
    eprintln!(
        "reproducing the report on {} ({} images, hash {}){}",
        data.source(),
        data.len(),
        &data.content_hash()[..16],
        if quick { ", quick" } else { "" }
    );
    let mut config = ReproduceConfig::for_profile(profile);
    config.seed = seed;
    let steps = reproduce::run(&data, &config, |i, n, name, reused| {
        eprintln!(
            "[{}/{n}] {name}{}",
            i + 1,
            if reused {
                ": unchanged, reused"
            } else {
                " ..."
            }
        );
    })?;
    println!("load data: {load_secs:.1} s");
    println!(
        "{:<22} {:>10} {:>12}  outputs",
        "step", "this run", "when made"
    );
    for s in &steps {
        println!(
            "{:<22} {:>10} {:>10.1} s  {}",
            s.name,
            if s.reused {
                "reused".to_string()
            } else {
                format!("{:.1} s", s.seconds)
            },
            s.recorded_seconds,
            s.outputs.join(", ")
        );
    }
    let made: f64 = steps.iter().map(|s| s.recorded_seconds).sum();
    println!(
        "done in {:.1} s ({} of {} steps reused; all outputs took {:.0} s to make); report: {}",
        start.elapsed().as_secs_f64(),
        steps.iter().filter(|s| s.reused).count(),
        steps.len(),
        made,
        paths::relative(&charlab::report::markdown_path())
    );
    Ok(())
}

fn results_section(args: &DataArgs) -> Result<()> {
    use charlab::sections::results;
    let (data, _) = args.load()?;
    let res = results::run(&data)?;
    println!("{}", results::table1_markdown(&res.table1));
    if !res.missing.is_empty() {
        println!("no results yet for: {}", res.missing.join(", "));
    }
    println!("best model: {}; most confused pairs:", res.best_model);
    for p in &res.most_confused {
        println!(
            "  true {} -> predicted {}: {} images ({:.1}%)",
            p.truth.1,
            p.predicted.1,
            p.count,
            100.0 * p.rate
        );
    }
    println!(
        "wrote report/results/{}.json, figures/{}, {}, {}",
        results::SECTION,
        results::CONFUSION_FIGURE,
        results::PAIRS_FIGURE,
        results::F1_FIGURE
    );
    Ok(())
}

fn levers(args: &LeversArgs, pretrain_only: bool) -> Result<()> {
    use charlab::data::DataSpec;
    use charlab::sections::levers::{self, LeversConfig};
    let profile = Profile::from_flag(args.quick);
    let data_args = args.data.for_profile(profile);
    let corpus_size = profile.corpus_size(args.corpus_size);
    let mut config = LeversConfig::for_profile(profile);
    if pretrain_only {
        config.variants.clear();
    }
    let (data, _) = data_args.load()?;
    let corpus = match DataSpec::from_arg(Some(&args.corpus)) {
        DataSpec::Default { .. } => DataSpec::Default {
            n: corpus_size,
            seed: args.data.data_seed.wrapping_add(1),
        },
        other => other,
    }
    .load()?;
    eprintln!(
        "section 6.1 on {} ({} images), corpus {} ({} images); runs in {}",
        data.source(),
        data.len(),
        corpus.source(),
        corpus.len(),
        paths::relative(&levers::run_root())
    );
    let res = levers::run(&data, &corpus, &config, args.resume, |m| {
        eprintln!("[6.1] {m}")
    })?;
    for p in &res.pretraining {
        println!(
            "pretraining {}: {} corpus images ({} dropped as identical to a validation or test \
             image), best epoch {} of {}, {:.0} s",
            p.name,
            p.corpus_images,
            p.dropped_duplicates,
            p.best_epoch,
            p.history.len(),
            p.seconds
        );
    }
    println!(
        "variant                          tau  val acc  val F1  test acc  test F1  (raw acc / F1)"
    );
    for v in &res.variants {
        println!(
            "{:<30} {:>5.2}  {:>6.2}%  {:>5.2}%  {:>7.2}%  {:>6.2}%  ({:.2} / {:.2})",
            v.variant.name,
            v.scored.tau,
            100.0 * v.scored.validation.adjusted_accuracy,
            100.0 * v.scored.validation.adjusted_macro_f1,
            100.0 * v.scored.test.adjusted_accuracy,
            100.0 * v.scored.test.adjusted_macro_f1,
            100.0 * v.scored.test.accuracy,
            100.0 * v.scored.test.macro_f1
        );
    }
    if let Some(b) = &res.best {
        println!("best on validation: {} ({})", b.model, b.run_dir);
    }
    Ok(())
}

fn cross_validate(args: &CvArgs) -> Result<()> {
    use charlab::sections::cv::{self, CvConfig};
    let profile = Profile::from_flag(args.quick);
    let data_args = args.data.for_profile(profile);
    let config = if profile.is_quick() {
        CvConfig::quick()
    } else {
        CvConfig::full()
    };
    let (data, _) = data_args.load()?;
    eprintln!(
        "section 6.2 on {} ({} images); runs in {}",
        data.source(),
        data.len(),
        paths::relative(&cv::run_root())
    );
    let res = cv::run(&data, &config, args.resume, |m| eprintln!("[6.2] {m}"))?;
    print!("{}", cv::summary(&res));
    Ok(())
}

fn write_report() -> Result<()> {
    for p in charlab::report::write()? {
        println!("wrote {}", paths::relative(&p));
    }
    Ok(())
}

/// Whether the command runs in quick mode (`--quick`).
fn quick_flag(command: &Command) -> bool {
    match command {
        Command::Baselines { quick, .. } | Command::Reproduce { quick, .. } => *quick,
        Command::Train {
            model: TrainModel::Cnn(a) | TrainModel::Efficientnet { common: a, .. },
        } => a.quick,
        Command::Tune {
            model: TuneModel::Cnn { quick, .. },
        } => *quick,
        Command::Levers(a) | Command::Pretrain(a) => a.quick,
        Command::Cv(a) => a.quick,
        _ => false,
    }
}

fn main() -> ExitCode {
    charlab::keep_freed_memory();
    let cli = Cli::parse();
    let threads = charlab::threads();
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        // Read once by matrixmultiply (threaded sgemm of the logistic regression).
        std::env::set_var("MATMUL_NUM_THREADS", threads.to_string());
    }
    // Only fails when a pool exists already, which is fine.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    if quick_flag(&cli.command) {
        if let Some(out) = paths::route_outputs("", true) {
            eprintln!(
                "quick run: outputs go to {} (the committed figures and results stay as they are)",
                paths::relative(&out)
            );
        }
    }
    let outcome = match &cli.command {
        Command::Split { data, seed, out } => write_split(data, *seed, out),
        Command::BenchSvmSolvers {
            data,
            pairs,
            seed,
            out,
        } => bench_svm_solvers(data, pairs, *seed, out.as_deref()),
        Command::Baselines {
            data,
            model,
            seed,
            svm_solver,
            logreg_solver,
            precision,
            logreg_max_iter,
            quick,
        } => run_baselines(
            data,
            model,
            *seed,
            svm_solver,
            (logreg_solver, precision, *logreg_max_iter),
            *quick,
        ),
        Command::Summary { data } => summary(data),
        Command::Figures {
            which: FigureCommand::Dataset { data, seed },
        } => figures_dataset(data, *seed),
        Command::Figures {
            which: FigureCommand::Baselines,
        } => paths::read_json::<baselines::BaselinesResults>(&paths::result(baselines::SECTION))
            .and_then(|res| baselines::f1_figure(&res, &charlab::data::REPORT_CLASSES))
            .map(|png| {
                if let Some(p) = png.path {
                    println!("wrote {} (and .svg)", paths::relative(&p));
                }
            }),
        Command::Figures {
            which: FigureCommand::LearningCurves,
        } => learning_curves::run().map(|png| {
            if let Some(p) = png.path {
                println!("wrote {} (and .svg)", paths::relative(&p));
            }
        }),
        Command::Preprocess { data, seed } => preprocess(data, *seed),
        Command::Train {
            model: TrainModel::Cnn(args),
        } => train_cnn(args),
        Command::Train {
            model: TrainModel::Efficientnet { common, variant },
        } => train_efficientnet(common, variant),
        Command::Tune {
            model:
                TuneModel::Cnn {
                    data,
                    search_epochs,
                    seed,
                    resume,
                    quick,
                },
        } => tune_cnn(data, *search_epochs, *seed, *resume, *quick),
        Command::Predict { model, data, out } => predict(model, data, out.as_deref()),
        Command::Results { data } => results_section(data),
        Command::Levers(args) => levers(args, false),
        Command::Pretrain(args) => levers(args, true),
        Command::Cv(args) => cross_validate(args),
        Command::Report => write_report(),
        Command::Reproduce { data, seed, quick } => reproduce(data, *seed, *quick),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
