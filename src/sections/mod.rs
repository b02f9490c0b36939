//! One module per section of the report. Each has a `run` that computes the section on a
//! [`crate::data::Dataset`], writes its figures to `figures/NN-*.{svg,png}` and its results to
//! `report/results/<section>.json`, and smaller functions that notebooks call step by step.

pub mod baselines;
pub mod cnn;
pub mod cnn_tuning;
pub mod cv;
pub mod dataset;
pub mod efficientnet;
pub mod learning_curves;
pub mod levers;
pub mod neural;
pub mod preprocessing;
pub mod results;
