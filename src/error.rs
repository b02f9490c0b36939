//! The one error type of charlab and its `Result` alias.

use std::path::PathBuf;

/// Everything that can go wrong in charlab.
///
/// Messages say what went wrong, where, and how to fix it when there is a fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A data file exists but its content is not what charlab can read.
    #[error("{path}: {message}")]
    BadData {
        /// The file.
        path: PathBuf,
        /// What is wrong, and how to fix it.
        message: String,
    },
    /// A parameter (hyper-parameter, size, split, seed...) is out of range.
    #[error("invalid parameter `{name}`: {message}")]
    InvalidParam {
        /// Parameter name as the user spells it.
        name: &'static str,
        /// What is wrong with the value and what is allowed.
        message: String,
    },
    /// A results file that a command or step needs is missing, or stale: from other data, or
    /// written before a field it needs was recorded. The message names the file and the
    /// command that (re)writes it.
    #[error("{path}: {problem}; run `{command}` to write it")]
    Results {
        /// The results file (relative to the project root where possible).
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// The command that writes it.
        command: String,
    },
    /// Drawing a figure failed.
    #[error("figure {path}: {message}")]
    Plot {
        /// The figure being drawn.
        path: PathBuf,
        /// The backend's message.
        message: String,
    },
    /// A result or config file could not be (de)serialised.
    #[error("{path}: JSON error: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The serde_json error.
        source: serde_json::Error,
    },
    /// A run folder is being written by another training (see `training::run_folder::RunLock`).
    #[error("run folder {path} is in use by {holder}; wait for it or stop it")]
    InUse {
        /// The run folder.
        path: PathBuf,
        /// Who holds it: `PID N (started ...)`.
        holder: String,
    },
    /// An error from libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// An error from polars.
    #[error("polars: {0}")]
    Polars(#[from] polars::error::PolarsError),
}

/// `Result` with charlab's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::BadData`].
    pub fn bad_data(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::BadData {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Results`].
    pub fn results(
        path: impl Into<PathBuf>,
        problem: impl Into<String>,
        command: impl Into<String>,
    ) -> Self {
        Error::Results {
            path: path.into(),
            problem: problem.into(),
            command: command.into(),
        }
    }

    /// Shorthand for [`Error::InvalidParam`].
    pub fn param(name: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidParam {
            name,
            message: message.into(),
        }
    }
}
