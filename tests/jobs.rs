//! Sections 6.2 and 6.1 as independent units (`plan`, `run --unit N`, `collect`): the units
//! run one process each, in any order within a stage, and the collected results are the
//! single-machine run's; a collect with units missing names them and writes nothing; a unit
//! whose dependency has not finished refuses; requeueing a finished unit recomputes nothing.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn charlab(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_charlab"))
        .args(args)
        .env("CHARLAB_ROOT", root)
        .env("CHARLAB_THREADS", "1")
        .env_remove("CHARLAB_DATA")
        .env_remove("CHARLAB_CORPUS")
        .output()
        .expect("run charlab")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value without its timings (the only thing two runs of the same work may differ in):
/// every `*seconds` and `*per_second`, and the epochs' `phases`.
fn untimed(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| {
                    !k.ends_with("seconds") && !k.ends_with("per_second") && *k != "phases"
                })
                .map(|(k, v)| (k.clone(), untimed(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(untimed).collect()),
        other => other.clone(),
    }
}

fn results(root: &Path, section: &str) -> Value {
    let path = root.join("report/results").join(format!("{section}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    untimed(&serde_json::from_str(&text).unwrap())
}

/// `(stage, first, last)` from the lines `plan` prints.
fn stages(plan_out: &str) -> Vec<(usize, usize, usize)> {
    plan_out
        .lines()
        .filter_map(|l| {
            let (stage, range) = l.strip_prefix("stage ")?.split_once(": ")?;
            let (a, b) = range.split_once('-')?;
            Some((stage.parse().ok()?, a.parse().ok()?, b.parse().ok()?))
        })
        .collect()
}

#[test]
fn cv_units_collect_to_the_single_machine_results() {
    let single = common::TempDir::new("jobs-single");
    ok(&charlab(single.path(), &["cv", "--quick"]));
    let want = results(single.path(), "06.2-cv");

    let tmp = common::TempDir::new("jobs-cv");
    let root = tmp.path();
    let plan_out = ok(&charlab(root, &["cv", "plan", "--quick"]));
    let plan = std::fs::read_to_string(root.join("data/models/06.2-cv/plan.jsonl")).unwrap();
    let units: Vec<Value> = plan
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let st = stages(&plan_out);
    assert_eq!(st.len(), 2, "{plan_out}");
    assert_eq!(st[1].2 + 1, units.len());
    for (i, u) in units.iter().enumerate() {
        assert_eq!(u["index"], i);
        for d in u["depends_on"].as_array().unwrap() {
            let dep = units
                .iter()
                .find(|v| &v["id"] == d)
                .expect("a dependency in the plan");
            assert!(dep["stage"].as_u64() < u["stage"].as_u64(), "{u}");
        }
    }

    // Nothing has run: collect names the units and writes no results file.
    let out = charlab(root, &["cv", "collect", "--quick"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not finished: grid/logreg-c0.1"), "{err}");
    assert!(!root.join("report/results/06.2-cv.json").exists());

    // A tuned model's fold before its grid: refused, naming the grid units.
    let (_, first_tuned, _) = st[1];
    let out = charlab(
        root,
        &["cv", "run", "--unit", &first_tuned.to_string(), "--quick"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("grid unit(s) have not finished"));

    // Each stage's units in reverse order (any order within a stage), one process each.
    for &(_, first, last) in &st {
        for i in (first..=last).rev() {
            ok(&charlab(
                root,
                &["cv", "run", "--unit", &i.to_string(), "--quick"],
            ));
        }
    }
    // Requeued: a finished unit is read back, not refitted.
    let fold = root.join("data/models/06.2-cv/logreg/fold-1/fold.json");
    let stamp = std::fs::metadata(&fold).unwrap().modified().unwrap();
    let logreg_fold = units
        .iter()
        .position(|u| u["id"] == "logreg/fold-1")
        .unwrap();
    ok(&charlab(
        root,
        &["cv", "run", "--unit", &logreg_fold.to_string(), "--quick"],
    ));
    assert_eq!(std::fs::metadata(&fold).unwrap().modified().unwrap(), stamp);

    ok(&charlab(root, &["cv", "collect", "--quick"]));
    assert_eq!(results(root, "06.2-cv"), want);
    for fig in ["06-cv.svg", "06-grid-svm.svg"] {
        let a = std::fs::read(single.path().join("figures").join(fig)).unwrap();
        let b = std::fs::read(root.join("figures").join(fig)).unwrap();
        assert!(a == b, "{fig} differs from the single-machine run's");
    }

    // A unit past the plan, and a plan written for other data, are clear errors.
    let out = charlab(root, &["cv", "run", "--unit", "999", "--quick"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("units (0 to"));
    let out = charlab(
        root,
        &["cv", "run", "--unit", "0", "--quick", "--data-seed", "5"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("written for other data"), "{err}");
}

#[test]
fn levers_units_collect_to_the_single_machine_results() {
    let single = common::TempDir::new("jobs-levers-single");
    ok(&charlab(single.path(), &["levers", "--quick"]));
    let want = results(single.path(), "06.1-levers");

    let tmp = common::TempDir::new("jobs-levers");
    let root = tmp.path();
    let plan_out = ok(&charlab(root, &["levers", "plan", "--quick"]));
    let st = stages(&plan_out);
    assert_eq!(st.len(), 2, "{plan_out}");
    // The fine-tuned variant before its pretraining: refused.
    let (_, tuned, _) = st[1];
    let out = charlab(
        root,
        &["levers", "run", "--unit", &tuned.to_string(), "--quick"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("which has not finished"), "{err}");
    let out = charlab(root, &["levers", "collect", "--quick"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!root.join("report/results/06.1-levers.json").exists());
    for &(_, first, last) in &st {
        for i in first..=last {
            ok(&charlab(
                root,
                &["levers", "run", "--unit", &i.to_string(), "--quick"],
            ));
        }
    }
    ok(&charlab(root, &["levers", "collect", "--quick"]));
    assert_eq!(results(root, "06.1-levers"), want);
}
