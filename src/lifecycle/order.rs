//! [`part_order`]: the order parts run in, from their `after` lists; the first thing
//! [`super::run`] computes.
//!
//! A part runs after every part it lists in `after`; among parts that are ready at the same
//! time, the one written first in `rockcraft.yaml` goes first.

use crate::project::Project;

use super::LifecycleError;

/// The indices into `project.parts` in lifecycle order.
pub fn part_order(project: &Project) -> Result<Vec<usize>, LifecycleError> {
    let parts = &project.parts;
    let index_of = |name: &str| parts.iter().position(|(n, _)| n == name);

    // deps[i] = indices of the parts that part i is after.
    let mut deps = Vec::with_capacity(parts.len());
    for (name, part) in parts {
        let mut d = Vec::new();
        for after in &part.after {
            match index_of(after) {
                Some(j) => d.push(j),
                None => {
                    return Err(LifecycleError::UnknownAfter {
                        part: name.clone(),
                        after: after.clone(),
                    });
                }
            }
        }
        deps.push(d);
    }

    let mut placed = vec![false; parts.len()];
    let mut order = Vec::with_capacity(parts.len());
    while order.len() < parts.len() {
        let next = (0..parts.len()).find(|&i| !placed[i] && deps[i].iter().all(|&j| placed[j]));
        match next {
            Some(i) => {
                placed[i] = true;
                order.push(i);
            }
            None => {
                return Err(LifecycleError::Cycle {
                    cycle: find_cycle(&deps, &placed)
                        .into_iter()
                        .map(|i| parts[i].0.clone())
                        .collect(),
                });
            }
        }
    }
    Ok(order)
}

/// A cycle among the unplaced parts (each of which has an unplaced dependency), as a path whose
/// last element repeats the first.
fn find_cycle(deps: &[Vec<usize>], placed: &[bool]) -> Vec<usize> {
    let Some(start) = (0..deps.len()).find(|&i| !placed[i]) else {
        return Vec::new();
    };
    // Follow unplaced dependencies until a part repeats; one always exists.
    let mut path = vec![start];
    let mut current = start;
    loop {
        let Some(&next) = deps[current].iter().find(|&&j| !placed[j]) else {
            return path;
        };
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let mut cycle = path[pos..].to_vec();
            cycle.push(next);
            return cycle;
        }
        path.push(next);
        current = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::tests::{part, project};

    fn names(p: &Project) -> Result<Vec<String>, LifecycleError> {
        Ok(part_order(p)?
            .into_iter()
            .map(|i| p.parts[i].0.clone())
            .collect())
    }

    #[test]
    fn after_reorders_and_ties_keep_file_order() {
        let mut a = part("nil");
        a.after = vec!["c".into()];
        let p = project(vec![("a", a), ("b", part("nil")), ("c", part("nil"))]);
        assert_eq!(names(&p).unwrap(), ["b", "c", "a"]);
    }

    #[test]
    fn cycle_is_an_error_naming_the_parts() {
        let mut a = part("nil");
        a.after = vec!["b".into()];
        let mut b = part("nil");
        b.after = vec!["a".into()];
        let p = project(vec![("x", part("nil")), ("a", a), ("b", b)]);
        let err = names(&p).unwrap_err().to_string();
        assert_eq!(
            err,
            "cannot order parts: circular dependency in 'after': a -> b -> a"
        );
    }

    #[test]
    fn unknown_after_is_an_error() {
        let mut a = part("nil");
        a.after = vec!["ghost".into()];
        let p = project(vec![("a", a)]);
        let err = names(&p).unwrap_err().to_string();
        assert!(err.contains("'a'") && err.contains("'ghost'"), "{err}");
    }
}
