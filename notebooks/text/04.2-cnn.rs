// %% [markdown]
// # 4.2 CNN
//
// The report's convolutional network: conv blocks (convolution, 2x2 max-pooling, ReLU), dropout, a hidden fully
// connected layer and the classifier, trained with Adam on the training part; the checkpoint with the lowest
// validation cross-entropy is scored on the test part. The notebook goes through it step by step with the
// library: the network is built in one cell, trained by `Fit` in the next, scored with the metric functions after.
//
// **Schedule.** The cell under *Setup* chooses it: `Profile::Full` is the report's (25 epochs on the data that
// `CHARLAB_DATA` names; the committed outputs come from it on the stand-in), `Profile::Quick` trains 2 epochs on
// 1,500 images (the embedded default's, or a sample of your `CHARLAB_DATA`) in a minute or two on 2 CPU cores; its numbers are not the report's. `CHARLAB_QUICK=1`
// (the test command) picks the quick one. Training resumes the run folder it finds (`data/models/04.2-cnn/`,
// the folder `charlab train cnn` writes) and only loads a finished one; the full run takes tens of minutes on
// 2 cores.

// %%
// :dep charlab = { path = "..", default-features = false }

// %%
use charlab::prelude::*;
use charlab::display::{history_table, net_table, per_class_table};
use charlab::sections::{cnn, neural};

// %% [markdown]
// ## Setup
// One call loads the data named by `CHARLAB_DATA` (the embedded default when unset), picks the schedule and says
// where the outputs go.

// %%
let (lab, data) = charlab::notebook::start(Profile::Full)?;

// %% [markdown]
// ## The split
// The report's random split (seed 0): training, validation (for the checkpoint) and test parts.

// %%
let config = cnn::CnnConfig {
    train: TrainParams { epochs: lab.profile.cnn_epochs(25), ..Default::default() },
    ..Default::default()
};
let split = random_split(data.len(), config.split_seed)?;
let (tr, va, te) = split.sizes();
println!("train {tr}, validation {va}, test {te} images");

// %% [markdown]
// ## The network
// `Net::Cnn` with the report's architecture (`CnnParams::default()`): its layers, output shapes (without the batch
// dimension) and parameters. Input: `[batch, 1, 56, 56]`, normalised by the training part's mean and std.

// %%
let net = Net::Cnn(config.model.clone());
println!("{}: {} trainable parameters", net.label(), net.parameter_count()?);
table(&net_table(&net)?)

// %% [markdown]
// Most parameters sit in the hidden fully connected layer: the conv blocks are small, and the flattened output of
// the last block times the hidden width dominates.
//
// ## Training
// Adam, batch 128, learning rate 1e-3, the epochs of the schedule:

// %%
println!("{:#?}", config.train);

// %% [markdown]
// `Fit` builds the network (seeded), trains it epoch by epoch into its run folder (a line per epoch: train and
// validation loss, validation accuracy, seconds) and returns it with its best-validation-loss weights. Its
// `config` is the section's run identity (configuration and data hash): the same folder as `charlab train cnn`,
// so a run finished by the CLI is only loaded here, and one stopped half-way resumes. `reuse` names the
// committed weights (`weights/04.2-cnn/`, checked by `charlab verify`): when the run folder is empty and their
// configuration is this one (the stand-in, the full schedule), they are loaded instead of training, and the cell
// says so. `reuse: None` trains.

// %%
let fit = Fit {
    config: Some(neural::NeuralConfig::run_config(&config, &data)?),
    reuse: Some(charlab::weights::folder(paths::section::CNN)),
    ..Fit::new(net.clone(), config.train.clone(), lab.run_dir(paths::section::CNN))
};
let trained = fit.run(&TrainData::new(&data, &split, Device::cuda_if_available())?)?;
println!("{} parameters, best epoch {} of {}", trained.parameters(), trained.best_epoch, trained.history.len());
println!("run folder {}", paths::relative(&trained.run_dir));

// %% [markdown]
// ## History
// Training cross-entropy (dropout on), validation cross-entropy and accuracy, per epoch:

// %%
table(&history_table(&trained.history)?)

// %% [markdown]
// The training loss keeps falling while the validation loss flattens and then rises: the network starts to fit
// its training images more than the task, which is why the checkpoint is chosen on validation and not taken from
// the last epoch.
//
// ## Scoring on the test part
// The best checkpoint labels the test images; accuracy and macro F1 come from `ConfusionMatrix` (scikit-learn's
// definitions: macro F1 averages the classes present in the test part).

// %%
let pred = trained.predict(&data, &split.test)?;
let cm = ConfusionMatrix::new(&data.labels_at(&split.test), &pred, data.n_classes())?;
println!("test accuracy {:.2}%, macro F1 {:.2}%", 100.0 * cm.accuracy(), 100.0 * cm.macro_f1());

// %% [markdown]
// Macro F1 sits below accuracy: the rare classes, with a few dozen test images or fewer, are read worse than the
// frequent ones, and each counts as much in the macro average. Per class:

// %%
table(&per_class_table(&cm.per_class(), data.class_chars())?)

// %% [markdown]
// The weakest classes are the look-alikes (the stand-in merges upper and lower case, so 'L', 'l', '1' and 'I',
// or '0' and 'O', share shapes); section 5 shows which pairs are confused.
//
// ## Learning curves
// This run's training and validation cross-entropy per epoch, drawn from `trained.history` (the report's
// `figures/04-learning-curves`, with EfficientNet beside the CNN, is drawn by `charlab reproduce` from the results
// files):

// %%
let curves = charlab::plot::LearningCurves { runs: vec![("CNN".into(), trained.history.clone())] };
charlab::plot::render_png(&curves)?

// %% [markdown]
// ### What the curves show
// The report's reading of the curves, generated from this run's history:

// %%
Html(charlab::report::markdown_fragment_html(&charlab::report::curve_reading("The CNN", &trained.history, trained.best_epoch)))

// %% [markdown]
// ## The report's choices, made repeatable
// The report picked the learning rate as the largest that keeps the curve stable, and the architecture by a manual
// search. `charlab tune cnn` does both by rule: a learning-rate sweep on this CNN, then 12 architectures (2-4 conv
// blocks, 3x3 or 5x5 kernels, 16 or 32 first filters) trained 3 epochs each at the picked rate. It takes long on 2
// cores, so this notebook shows its results file (`report/results/04.2-cnn-tuning.json`) when it exists.

// %%
use charlab::sections::cnn_tuning;
let tuning_path = paths::result(paths::section::CNN_TUNING);
if tuning_path.exists() {
    let t: cnn_tuning::TuningResults = paths::read_json(&tuning_path)?;
    println!("picked learning rate: {} (sweep {:.0} s, search {:.0} s)", t.picked_rate, t.seconds.0, t.seconds.1);
    table(&cnn_tuning::search_table(&t.search)?)
} else {
    Html(format!("<p>No tuning results yet: <code>charlab tune cnn --data ...</code> writes {}.</p>", paths::relative(&tuning_path)))
}

// %% [markdown]
// Deeper networks with 5x5 kernels score best after 3 epochs; section 6.1 trains the 4-block winner longer, with
// pretraining, augmentation and class weights.
