//! What the basin map found: the counts of stored and spurious attractors with the share of
//! starts that retrieve a memory, and the list of attractors by basin size.

use leptos::prelude::*;
use memgen_core::dense_am::AttractorKind;

use super::Panel;

/// The counts of a basin map.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Counts {
    /// Stored memories reached.
    stored: usize,
    /// Distinct spurious attractors.
    spurious: usize,
    /// Share of starts that end at a stored memory.
    retrieval: f64,
    /// Whether the map is the current state's (else a new one is being made).
    fresh: bool,
}

/// The basin map's counts (`data-state` "done" once the map is the current state's).
#[component]
pub(super) fn AttractorSummary(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let counts = move || {
        p.basin.get().map(|b| Counts {
            stored: b.map.stored_count(),
            spurious: b.map.spurious_count(),
            retrieval: b.map.retrieval_fraction(),
            fresh: b.state == p.state.get(),
        })
    };
    view! {
        <div class="summary" data-testid="attractor-summary"
            data-state=move || match counts() { Some(Counts { fresh: true, .. }) => "done", _ => "running" }
            data-stored=move || counts().map(|c| c.stored.to_string()).unwrap_or_default()
            data-spurious=move || counts().map(|c| c.spurious.to_string()).unwrap_or_default()
            data-retrieval-fraction=move || counts().map(|c| format!("{:.4}", c.retrieval)).unwrap_or_default()>
            {move || match counts() {
                Some(Counts { stored, spurious, retrieval, fresh }) => format!(
                    "{stored} stored memories reached, {spurious} spurious attractors; {:.1}% of starts retrieve a stored memory.{}{}",
                    100.0 * retrieval,
                    if stored == 0 && spurious == 0 {
                        " No start converged to a memory or to a spurious state within the step budget: with this many memories at this β their wells have merged into a nearly flat valley where the descent crawls, the continuous regime that the paper calls generalization. A larger β, or fewer memories, brings separate wells back."
                    } else {
                        ""
                    },
                    if fresh { "" } else { " (updating…)" }
                ),
                None => format!("Computing the basin map… {:.0}%", 100.0 * p.basin_progress.get()),
            }}
        </div>
    }
}

/// The attractors, largest basins first (at most 60).
#[component]
pub(super) fn AttractorList(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let table = move |_: ()| {
        p.basin.with_untracked(|b| {
            b.as_ref().map(|b| {
                let total = b.map.assignment.len().max(1) as f64;
                crate::export::csv(
                    &["kind", "memory", "x", "y", "energy", "basin_share", "starts"],
                    b.map.attractors.iter().map(|a| {
                        let (kind, j) = match a.kind {
                            AttractorKind::Memory(j) => ("stored", j.to_string()),
                            AttractorKind::Spurious => ("spurious", String::new()),
                            AttractorKind::Saddle => ("saddle", String::new()),
                        };
                        vec![
                            kind.into(),
                            j,
                            a.position[0].to_string(),
                            a.position[1].to_string(),
                            a.energy.to_string(),
                            (a.count as f64 / total).to_string(),
                            a.count.to_string(),
                        ]
                    }),
                )
            })
        })
    };
    view! {
        <details class="attractors" open>
            <summary>"Attractors (largest basins first)"</summary>
            <crate::export::ExportButtons name="attractors" csv=table />
            <ol data-testid="attractor-list">
                {move || {
                    let Some(b) = p.basin.get() else { return Vec::new() };
                    let total = b.map.assignment.len().max(1) as f64;
                    let mut list: Vec<_> = b.map.attractors.clone();
                    list.sort_by_key(|a| std::cmp::Reverse(a.count));
                    list.into_iter()
                        .take(60)
                        .map(|a| {
                            let label = match a.kind {
                                AttractorKind::Memory(j) => format!("stored memory #{j}"),
                                AttractorKind::Spurious => "spurious state".to_string(),
                                AttractorKind::Saddle => "saddle (unstable fixed point on a basin boundary)".to_string(),
                            };
                            let class = match a.kind {
                                AttractorKind::Spurious => "spurious",
                                AttractorKind::Saddle => "saddle",
                                AttractorKind::Memory(_) => "stored",
                            };
                            let (x, y, basin) = (a.position[0], a.position[1], 100.0 * a.count as f64 / total);
                            view! {
                                <li class=class>{format!("{label} at ({x:.3}, {y:.3}) · E = {:.4} · basin {basin:.1}% ({} starts)", a.energy, a.count)}</li>
                            }
                        })
                        .collect::<Vec<_>>()
                }}
            </ol>
        </details>
    }
}
