// %% [markdown]
// # 2. Dataset
//
// The report's data: binary 56x56 images of handwritten letters and digits in 36 classes. Letters merge
// upper and lower case, and class 30 is a second, single-image 'N'. This notebook walks through section 2:
// the class distribution, one sample per class, and the summary table.
//
// The data comes from `CHARLAB_DATA` (a `train.pkl`, an EMNIST folder, or `default`, the embedded synthetic
// set; unset means `default`). The committed outputs come from the stand-in `train.pkl`.

// %%
// :dep charlab = { path = "..", default-features = false }

// %%
use charlab::prelude::*;
use charlab::sections::dataset;

// %% [markdown]
// ## Load the data
// `DataSpec::from_env` reads `CHARLAB_DATA`; `load` checks shapes, dtypes and labels and fails with a message naming the file.

// %%
let (lab, data) = charlab::notebook::start(Profile::Full)?;
println!("images:  {} of {}x{} pixels, {} classes", data.len(), data.height(), data.width(), data.n_classes());
println!("hash:    {}", &data.content_hash()[..16]);

// %% [markdown]
// ## Summary table
// One row per class: index, character, number of images and share of the data set (%).

// %%
let summary = charlab::display::class_table(&data)?;
table(&summary)

// %% [markdown]
// The imbalance in numbers: the largest class against the smallest non-empty one.

// %%
let res = dataset::results(&data, 0);
println!("largest class:  {} ('{}') with {} images", res.largest.0, data.class_chars()[res.largest.0], res.largest.1);
println!("smallest class: {} ('{}') with {} image(s)", res.smallest.0, data.class_chars()[res.smallest.0], res.smallest.1);
println!("ratio {:.0}:1; ink covers {:.1}% of all pixels", res.imbalance_ratio, 100.0 * res.ink_fraction);

// %% [markdown]
// ## Class distribution
// `plot::ClassDistribution` draws the images per class: linear scale (top) shows the imbalance; log scale (bottom) makes the small classes readable, down to class 30's single image. `charlab reproduce` saves it as `figures/02-class-distribution.{svg,png}`.

// %%
charlab::plot::render_png(&charlab::plot::ClassDistribution::of(&data))?

// %% [markdown]
// ## One sample per class
// `plot::SampleGrid`: a randomly chosen image of each class (seed 0), labelled `index: character`. `charlab reproduce` saves it as `figures/02-samples.{svg,png}`.

// %%
charlab::plot::render_png(&charlab::plot::SampleGrid::of(&data, 0))?

// %% [markdown]
// ## Results file
// Everything above, as `report/results/02-dataset.json` (read by the report).

// %%
paths::write_json(&paths::result(paths::section::DATASET), &res)?;
println!("wrote {}", charlab::paths::relative(&charlab::paths::result(paths::section::DATASET)));
