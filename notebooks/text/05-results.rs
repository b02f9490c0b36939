// %% [markdown]
// # 5 Results
//
// The report's section 5, step by step with the library: every model's **test predictions** (recorded by
// sections 4.1 to 4.3 in their results files), scored here with the metric functions; **Table 1** beside the
// original report's numbers; the best network's predictions made again from its **weights**; the
// **row-normalised confusion matrix** and the **most confused pairs** of the best model; and the **per-class
// F1** of every model.
//
// **What it reads.** The results files of sections 4.1, 4.2 and 4.3, which `charlab reproduce` writes (notebook
// 04.1 writes 4.1's; 04.2 and 04.3 train the networks but leave the results files to the CLI); `charlab reproduce`
// also draws this section's figures (`figures/05-*`) and writes its results file with the same functions. Models
// without results are left out, and the cells say so. On the stand-in the committed results are read; with `CHARLAB_QUICK=1` (the test
// command) the quick runs of the notebooks before, whose numbers are not the report's.

// %%
// :dep charlab = { path = "..", default-features = false }

// %%
use charlab::prelude::*;
use charlab::metrics::confused_pairs;
use charlab::plot::{self, ConfusionHeatmap};
use charlab::sections::{cnn, results};

// %% [markdown]
// ## Setup

// %%
let (lab, data) = charlab::notebook::start(Profile::Full)?;

// %% [markdown]
// ## The models' test predictions
// `results::collect` reads each model's results file: its test predictions, in the order of the split's test
// part, with the hash of the data it was computed on.

// %%
let (outcomes, missing) = results::collect()?;
for o in &outcomes {
    let same = if o.data_hash == data.content_hash() { "this data" } else { "OTHER data" };
    println!("{:<32} {} test predictions ({same}, split seed {}), from {}", o.name, o.test.predictions.len(),
        o.split_seed, o.results_file);
}
if !missing.is_empty() {
    println!("no results yet for: {} (charlab reproduce writes them)", missing.join(", "));
};

// %% [markdown]
// ## Scoring
// Each model's predictions against the true labels of the test part, with `ConfusionMatrix` (scikit-learn's
// definitions; macro F1 averages the classes present in the test part):

// %%
let mut scored: Vec<(String, ConfusionMatrix)> = Vec::new();
for o in &outcomes {
    let split = random_split(data.len(), o.split_seed)?;
    let cm = ConfusionMatrix::new(&data.labels_at(&split.test), &o.test.predictions, data.n_classes())?;
    println!("{:<32} accuracy {:>6.2}%, macro F1 {:>6.2}%", o.name, 100.0 * cm.accuracy(), 100.0 * cm.macro_f1());
    scored.push((o.name.clone(), cm));
};

// %% [markdown]
// These are the numbers the sections recorded: the same predictions through the same functions. Macro F1 sits
// well below accuracy for every model, because the rare classes weigh as much as the frequent ones.
//
// ## Table 1
// The test scores in %, with the original report's beside them. The data differs from the original's (see the
// README), so the comparison is of orders and gaps, not of exact values.

// %%
let summary = results::summarize(&data, &outcomes, missing, 4)?;
println!("best model: {}", summary.best_model);
table(&results::table1(&summary.table1)?)

// %% [markdown]
// Whether the gaps between the rows are larger than the noise of a 5,000-image test part is for the report's
// text below to say: it measures them.
//
// ## The CNN's predictions, again from its weights
// A trained network is its run folder: configuration, normaliser and best-validation-loss weights. The CNN's is
// `data/models/04.2-cnn/` when it was trained here, else the committed `weights/04.2-cnn/` (the stand-in's). Loaded
// and run on the test part, it gives its recorded predictions back:

// %%
let run = lab.run_dir(paths::section::CNN);
let dir = if run.join("best.safetensors").exists() { run } else { charlab::weights::folder(paths::section::CNN) };
let recorded = outcomes.iter().find(|o| o.key == "cnn").map(|o| o.test.predictions.clone());
match recorded {
    Some(recorded) if dir.join("best.safetensors").exists() => {
        let net = Trained::load(&dir)?;
        let split = random_split(data.len(), 0)?;
        let pred = net.predict(&data, &split.test)?;
        let differ = pred.iter().zip(&recorded).filter(|(a, b)| a != b).count();
        println!("{}: {} test images labelled, {} differ from the recorded predictions", paths::relative(&dir),
            pred.len(), differ + pred.len().abs_diff(recorded.len()));
    }
    _ => println!("no CNN run folder or results yet (notebook 04.2 makes them)"),
};

// %% [markdown]
// Zero differences on the stand-in: the committed weights are the ones behind the CNN's row of Table 1
// (`charlab verify` checks this for every shipped network). On other data the run folder of notebook 04.2 is
// used, and a non-zero count would mean that folder and the results file do not belong together.
//
// ## Confusion matrix of the best model
// Rows are the true classes, columns the predicted ones, each row sums to 100%; off-diagonal cells of at least 2%
// carry their percentage. `charlab results` saves the same figure as `figures/05-confusion-matrix.{svg,png}`.

// %%
let best = outcomes.iter().position(|o| o.name == summary.best_model).unwrap_or(0);
let best_cm = scored[best].1.clone();
plot::render_png(&ConfusionHeatmap::new(&summary.best_model, &best_cm, data.class_chars()))?

// %% [markdown]
// Most of the mass is on the diagonal; the bright off-diagonal cells sit between characters that share a shape
// in this data (letters merge upper and lower case, so 'L', 'l', '1' and 'I' overlap, as do '0' and 'O').
//
// ## The most confused pairs
// `metrics::confused_pairs` counts each unordered pair once, both directions summed:

// %%
for p in confused_pairs(&best_cm, data.class_chars(), 4) {
    let dirs: Vec<String> = p.directions.iter()
        .map(|d| format!("{} read as {}: {} ({:.1}% of {})", d.truth.1, d.predicted.1, d.count, 100.0 * d.rate, d.truth.1))
        .collect();
    println!("{} / {}: {} test images ({})", p.classes[0].1, p.classes[1].1, p.count, dirs.join("; "));
};

// %% [markdown]
// With test images it got wrong and reference images of the class it read (`figures/05-confused-pairs`):

// %%
plot::render_png(&results::ConfusedPairs::of(&data, &summary, &outcomes[best], 6)?)?

// %% [markdown]
// The errors are not spread at random: they gather in pairs of characters that this data set draws alike.

// %% [markdown]
// ## Top losses
// The test images the best model is most confidently wrong about (fastai's `plot_top_losses`): its logits on the
// test part from its run folder (or the committed weights), `inference::top_losses` keeps the misread images with
// the highest cross-entropy loss, `-ln p(true class)`, and `plot::Gallery` shows them (`figures/05-top-losses`).

// %%
{
    // A block: evcxr keeps no borrowed value between cells.
    let o = &outcomes[best];
    let section = if o.key == "efficientnet" { paths::section::EFFICIENTNET } else { paths::section::CNN };
    let run = lab.run_dir(section);
    let dir = if run.join("best.safetensors").exists() { run } else { charlab::weights::folder(section) };
    if o.validation_accuracy.is_some() && dir.join("best.safetensors").exists() {
        let split = random_split(data.len(), o.split_seed)?;
        let logits = Trained::load(&dir)?.logits(&data, &split.test)?;
        let top = charlab::inference::top_losses(&logits, &data.labels_at(&split.test), 16)?;
        for t in top.iter().take(3) {
            println!("test image {}: '{}' read as '{}' with p {:.3} (p of the truth {:.1e}, loss {:.1})", t.position,
                data.class_chars()[t.truth], data.class_chars()[t.predicted], t.p_predicted, t.p_truth, t.loss);
        }
        plot::render_png(&plot::Gallery::top_losses(&o.name, &data, &split.test, &top)?)?.evcxr_display();
    } else {
        println!("the best model, {}, has no trained network on this machine", o.name);
    };
}

// %% [markdown]
// Under each image: the probability the network gave the class it chose, then the true class's. Read them one by
// one: an image that looks like the class it was read as points to a wrong label in the data (the stand-in's
// labels are the characters its writers were asked to write), one that looks like neither to an image no model can
// read. Neither is fixed by a bigger network.
//
// ## Per-class F1 of every model
// Where each model fails: the rare classes and the look-alike characters (`figures/05-per-class-f1`).

// %%
plot::render_png(&results::per_class_f1_bars(&summary, data.class_chars()))?

// %% [markdown]
// The weakest classes are much the same for every model: the look-alikes of the pairs above and a few rare
// classes. The class without a test image (30, the second 'N') has no F1 to measure and shows 0.
//
// ## The regenerated report
// `report/report.md` and `report/report.html` are written from the results files by `charlab report` (the last
// step of `charlab reproduce`), never by hand. Its section 5, generated from the same results files as the
// tables and figures above: whether the best model is ahead beyond the noise, the confused pairs counted once,
// and the look-alike classes per model.

// %%
// The report needs every section's results; without them (notebooks 04.2 and 04.3 train but only
// `charlab reproduce` writes their results files) it says what is missing.
match charlab::report::excerpt("## 5") {
    Ok(text) => Html(charlab::report::markdown_fragment_html(&text)),
    Err(e) => Html(format!("<p>The report cannot be written yet: {e}</p>")),
}
