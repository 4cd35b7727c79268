//! Guided lessons: the paper's story in three sequences of short steps, one per stage —
//! the Dense Associative Memory (capacity, β, spurious mixtures), the 2-D diffusion toy
//! (K = 2 → 9 → 1000) and the image models (the transition, the gallery, basins).
//!
//! A step is a view and the query that sets that view's state; its link is
//! `?lesson=NAME&step=N&…#/view`, so a step can be shared, reloaded and reached with back and
//! forward. Opening `?lesson=NAME&step=N` alone fills in the step's state ([`fill_step`])
//! before the views read the URL. Next and previous (buttons or ← →) open the next step's link.
//! `present=1` is the presenter mode: controls hidden, figures enlarged.

use leptos::prelude::*;

use crate::state::Notice;
use crate::views::View;

/// One step: what to look at, what to change, a question whose answer opens on click.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The view the step opens.
    pub view: View,
    /// The state the step sets (a query string without `?`, in the views' own keys).
    pub query: &'static str,
    pub title: &'static str,
    /// What to look at.
    pub look: &'static str,
    /// What to change.
    pub change: &'static str,
    pub question: &'static str,
    pub answer: &'static str,
}

/// A lesson: a name for its links, a title and its steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lesson {
    pub name: &'static str,
    pub title: &'static str,
    pub steps: &'static [Step],
}

/// The lessons, in the story's order.
pub const LESSONS: [Lesson; 3] = [
    Lesson {
        name: "memory",
        title: "Memories, their wells, and the states no one stored",
        steps: &[
            Step {
                view: View::Memory,
                query: "beta=10&form=dot&preset=circle-even&k=9&seed=1&view=0,0,1.5",
                title: "Nine memories, nine wells",
                look: "The left map is the energy of a Dense Associative Memory holding nine memories (the white dots) on the unit circle: dark is low. The right map colours every starting point by the state that retrieval (x ← Σ softmax(β xᵀy) y) ends in.",
                change: "Click anywhere on the right map to trace one retrieval from there.",
                question: "How many stored memories are reached, and how many spurious attractors are there?",
                answer: "All nine memories are reached and there is no spurious attractor: at β = 10 each memory's well is deep and narrow enough to stand alone. Every start falls into one stored pattern. This is memorization.",
            },
            Step {
                view: View::Memory,
                query: "beta=1&form=dot&preset=circle-even&k=9&seed=1&view=0,0,1.5",
                title: "Low β: one state that is no memory",
                look: "The same nine memories at β = 1. β is the inverse temperature: it sets how sharply the softmax picks the nearest memory.",
                change: "Move the β slider slowly from 1 up to 10 and watch the basin map split.",
                question: "Where does retrieval end now, and is that a stored memory?",
                answer: "Every start ends near the centre, at the average of all nine memories: one spurious attractor and no stored memory. With a soft softmax the update mixes every memory. The centre is stable while β times the memories' spread (½ per axis on the unit circle) is below 1, so here up to β ≈ 2.",
            },
            Step {
                view: View::Memory,
                query: "beta=10&form=dot&preset=circle-random&k=9&seed=1&view=0,0,1.5",
                title: "Crowded memories merge: spurious mixtures",
                look: "Nine memories again at β = 10, now at random angles: some lie close together.",
                change: "Trace retrievals from points between two close memories. Try other seeds.",
                question: "Are all nine memories still attractors? What is the spurious state the summary lists?",
                answer: "No. Where memories crowd together, their wells merge into one well between them. Retrieval from anywhere near ends at that mixture, which is no stored pattern: a spurious state. Memories with room around them keep their own wells. Two memories at ±a merge when βa² < 1.",
            },
            Step {
                view: View::Memory,
                query: "beta=3&form=dot&preset=circle-even&k=9&seed=1&view=0,0,1.5",
                title: "A valley instead of wells",
                look: "The nine even memories at β = 3, between the single centre state of β = 1 and the nine wells of β = 10.",
                change: "Move β between 2 and 6 and watch the energy map: a ring-shaped valley, then wells.",
                question: "Does any start end at a memory now?",
                answer: "No: the nine wells have merged into one ring-shaped valley whose floor is almost level all the way round. Retrieval slides down to the ring and then crawls along it, so no start reaches a memory or a single spurious point within the step budget. A continuum of near-fixed points instead of nine separate ones is the associative memory's picture of generalization.",
            },
            Step {
                view: View::Memory,
                query: "beta=10&form=dot&preset=circle-even&k=40&seed=1&view=0,0,1.5",
                title: "Capacity: too many memories for this β",
                look: "Forty memories on the circle at β = 10, the β that held nine. Neighbours are now about 0.16 apart.",
                change: "Raise β to 15 or 20, and press “Sweep K (1 … 64)” to count stored memories against K.",
                question: "How many of the 40 memories does it retrieve at β = 10, and what brings them back?",
                answer: "None: with half a gap a ≈ 0.08, βa² ≈ 0.06 is far below 1, so the 40 wells merge into the ring valley of the last step. At β = 15 all 40 are attractors again. Capacity grows with β, because each well narrows like 1/√β. Past capacity the memory stops reproducing what it stored. In the image models this is where new samples begin.",
            },
        ],
    },
    Lesson {
        name: "toy",
        title: "A diffusion model on a circle: K = 2 → 9 → 1000",
        steps: &[
            Step {
                view: View::Toy,
                query: "tk=2&tseed=0",
                title: "Two points: two wells",
                look: "Scroll to “The three regimes”: each figure shows a score network trained on K points of the unit circle (black) and 2,000 of its samples (shipped checkpoints, made by scripts/make-pretrained.sh). Look at the first, K = 2.",
                change: "Nothing yet: compare the samples with the two training points.",
                question: "Where do the K = 2 model's samples end up?",
                answer: "On the two training points: the model has memorized its data. Its learned energy has one well at each point, like the nine wells of the associative memory at high β.",
            },
            Step {
                view: View::Toy,
                query: "tk=9&tseed=0&tt=0.15&tthr=2",
                title: "Nine points: wells no one put there",
                look: "The middle figure, K = 9. Its centroids are labelled by whether a training point lies under them.",
                change: "Hover the figure, or read the counts under it.",
                question: "Do all the clusters of samples sit on training points?",
                answer: "No: besides clusters on training points, the model makes clusters between neighbouring points, where no training point is. These are spurious states, the paper's Fig. 2 middle. They are the diffusion model's counterpart of the associative memory's mixture states.",
            },
            Step {
                view: View::Toy,
                query: "tk=1000&tseed=0&tt=0.15&tthr=0.45",
                title: "A thousand points: a continuous ring",
                look: "The right figure, K = 1000.",
                change: "Compare its samples with the K = 2 and K = 9 figures.",
                question: "Are the samples copies of training points?",
                answer: "No: they spread along the whole circle, and the energy is a continuous valley rather than separate wells. The model has learned the circle, not the points. This is generalization: the wells merged into a manifold.",
            },
            Step {
                view: View::Toy,
                query: "tk=2&tseed=0&tsteps=1000&tn=2000",
                title: "Train one yourself",
                look: "The settings at the top: K = 2, 1,000 steps, 2,000 samples.",
                change: "Press Train, watch the loss fall, then let it sample. Then try K = 9 with the same seed.",
                question: "Do your samples land where the pretrained K = 2 model's did?",
                answer: "Yes: on the two points. The run is seeded (points, batches, noise and samples all come from the seed in the link), so the same link gives the same losses and samples on any machine.",
            },
        ],
    },
    Lesson {
        name: "images",
        title: "Images: from copies to new digits",
        steps: &[
            Step {
                view: View::Images,
                query: "ik=2",
                title: "The transition in one plot",
                look: "The plot shows, for each training-set size K, the fractions of generated MNIST digits labelled memorized (blue), spurious (pink) and generalized (green). The models were trained natively by memgen sweep; the command is shown above the plot.",
                change: "Below the plot, the gallery of K = 2 is open: each sample with its nearest training images.",
                question: "At K = 2, what are the samples?",
                answer: "Almost all are copies of one of the two training digits: memorized. Their distance to the nearest training image is far smaller than to the second nearest.",
            },
            Step {
                view: View::Images,
                query: "ik=64",
                title: "Past capacity",
                look: "The gallery at K = 64, and the plot around K = 32–128 where the blue curve falls.",
                change: "Set “show” to spurious, then to generalized, and open a sample.",
                question: "Where does the memorized fraction fall below one half?",
                answer: "Read it off the plot: in the shipped bundle the blue curve falls below ½ between K = 32 (0.78) and K = 64 (0.36), and is near 0 from K = 128. The marks MC, SC and GC estimate the memorization, spurious and generalization capacities. Spurious samples are rare and brief in images: the paper finds them near the transition.",
            },
            Step {
                view: View::Images,
                query: "ik=1024",
                title: "Generalized — but are they digits?",
                look: "The gallery at K = 1024 and the quality row: the improved precision of the samples in a digit classifier's features, beside the figure of real test digits.",
                change: "Look at the samples: would you call them digits?",
                question: "Does “generalized” mean “good”?",
                answer: "Not by itself. A failed sample is far from the training set and from the other samples too, so the labels call it generalized. The quality figure measures how many samples lie on the manifold of real digits; compare it with the real images' figure before trusting the label.",
            },
            Step {
                view: View::Images,
                query: "ik=64&idm=0.5",
                title: "The labels depend on δ",
                look: "δ_m is now 0.5 instead of the paper's 1/3.",
                change: "Move δ_m and δ_s and watch the percentages and the mark on the plot.",
                question: "Raising δ_m: which fraction grows?",
                answer: "The memorized one: a sample is memorized when d(x̂, x₁)/d(x̂, x₂) ≤ δ_m, so a looser threshold admits more samples. The transition's place in K moves little: the curves are steep there.",
            },
        ],
    },
];

/// The lesson named `name`.
pub fn lesson(name: &str) -> Option<&'static Lesson> {
    LESSONS.iter().find(|l| l.name == name)
}

/// The page's own keys (beside the views' keys): lesson, step, presenter mode, the app's version.
pub const APP_KEYS: [&str; 4] = ["lesson", "step", "present", "v"];

/// What the page's own keys ask for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppKeys {
    /// The lesson and its step (0-based).
    pub lesson: Option<(&'static Lesson, usize)>,
    pub present: bool,
    /// The version of the app that made the link, if it says.
    pub version: Option<String>,
}

/// Reads the page's own keys; bad values get notices and are ignored.
pub fn parse_app_keys(pairs: &[(&str, &str)]) -> (AppKeys, Vec<Notice>) {
    let mut out = AppKeys::default();
    let mut notices = Vec::new();
    let get = |k: &str| pairs.iter().rev().find(|(key, _)| *key == k).map(|(_, v)| *v);
    if let Some(name) = get("lesson") {
        match lesson(name) {
            Some(l) => {
                let n = l.steps.len();
                let step = match get("step") {
                    None => 0,
                    Some(s) => match s.trim().parse::<usize>() {
                        Ok(i) if (1..=n).contains(&i) => i - 1,
                        _ => {
                            notices.push(Notice(format!("The lesson “{}” has steps 1 to {n}, not “{}”; showing step 1.", l.name, crate::url::preview(s))));
                            0
                        }
                    },
                };
                out.lesson = Some((l, step));
            }
            None => notices.push(Notice(format!(
                "There is no lesson named “{}”; the lessons are {}.",
                crate::url::preview(name),
                LESSONS.map(|l| l.name).join(", ")
            ))),
        }
    }
    if let Some(p) = get("present") {
        match p {
            "1" | "true" => out.present = true,
            "0" | "false" | "" => {}
            _ => notices.push(Notice(format!("present must be 1 or 0, not “{}”; the controls are shown.", crate::url::preview(p)))),
        }
    }
    out.version = get("v").map(crate::url::preview);
    (out, notices)
}

/// The link (query and hash) of a lesson's step `i` (0-based), in presenter mode or not.
pub fn step_link(l: &Lesson, i: usize, present: bool) -> String {
    let s = &l.steps[i];
    format!("?lesson={}&step={}{}&{}{}", l.name, i + 1, if present { "&present=1" } else { "" }, s.query, s.view.hash())
}

/// The query `search` with a step's state filled in where the link does not set it (a link of
/// only `?lesson=NAME&step=N` opens the step as its author made it; keys the link sets, e.g.
/// after the reader changed β in that step and reloaded, are kept). `None` when nothing changes.
pub fn fill_step(search: &str, step: &Step) -> Option<String> {
    let (pairs, _) = crate::url::split_query(search, &[]);
    let have: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    let missing: Vec<&str> = step.query.split('&').filter(|kv| !have.contains(&kv.split('=').next().unwrap_or(""))).collect();
    if missing.is_empty() {
        return None;
    }
    let base = search.strip_prefix('?').unwrap_or(search);
    Some(format!("?{}{}{}", base, if base.is_empty() { "" } else { "&" }, missing.join("&")))
}

fn navigate(url: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(url);
    }
}

/// The lesson bar over the open view: the step's text, its question and answer, previous and
/// next (also ← and →, when no field has the focus), presenter mode on and off.
#[component]
pub fn LessonBar(
    lesson: &'static Lesson,
    /// The step shown (0-based).
    step: usize,
    present: bool,
) -> impl IntoView {
    let n = lesson.steps.len();
    let s = lesson.steps[step];
    let prev = (step > 0).then(|| step_link(lesson, step - 1, present));
    let next = (step + 1 < n).then(|| step_link(lesson, step + 1, present));
    let (p2, n2) = (prev.clone(), next.clone());
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.alt_key() || ev.ctrl_key() || ev.meta_key() || ev.shift_key() {
            return;
        }
        let typing = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .map(|e| matches!(e.tag_name().to_ascii_lowercase().as_str(), "input" | "select" | "textarea"))
            .unwrap_or(false);
        if typing {
            return;
        }
        let to = match ev.key().as_str() {
            "ArrowRight" => n2.as_ref(),
            "ArrowLeft" => p2.as_ref(),
            _ => None,
        };
        if let Some(url) = to {
            ev.prevent_default();
            navigate(url);
        }
    });
    // The bar lives as long as the page (a step is a page of its own).
    std::mem::forget(handle);
    let toggle = step_link(lesson, step, !present);
    let exit = format!("?{}{}", s.query, s.view.hash());
    view! {
        <aside class="lesson" data-testid="lesson" data-lesson=lesson.name data-step=(step + 1).to_string() data-steps=n.to_string() aria-label="Lesson">
            <p class="lesson-head">
                <b>{lesson.title}</b>
                <span class="muted">{format!(" · step {} of {n}", step + 1)}</span>
            </p>
            <h2 data-testid="lesson-title">{s.title}</h2>
            <p><b>"Look: "</b>{s.look}</p>
            <p><b>"Try: "</b>{s.change}</p>
            <details data-testid="lesson-question">
                <summary>{s.question}" (click for the answer)"</summary>
                <p data-testid="lesson-answer">{s.answer}</p>
            </details>
            <nav class="lesson-nav" aria-label="Lesson steps">
                {match prev {
                    Some(u) => view! { <a class="button" href=u data-testid="lesson-prev" rel="prev">"← Previous"</a> }.into_any(),
                    None => view! { <span class="button disabled" aria-disabled="true">"← Previous"</span> }.into_any(),
                }}
                {match next {
                    Some(u) => view! { <a class="button" href=u data-testid="lesson-next" rel="next">"Next →"</a> }.into_any(),
                    None => view! { <span class="button disabled" aria-disabled="true">"Next →"</span> }.into_any(),
                }}
                <a class="button" href=toggle data-testid="lesson-present">{if present { "Show the controls" } else { "Presenter mode" }}</a>
                <a class="button" href=exit data-testid="lesson-exit">"Leave the lesson"</a>
            </nav>
        </aside>
    }
}

/// The lessons' index: a link to each lesson's first step.
#[component]
pub fn LessonMenu() -> impl IntoView {
    view! {
        <details class="lesson-menu" data-testid="lesson-menu">
            <summary>"Lessons"</summary>
            <ol>
                {LESSONS
                    .iter()
                    .map(|l| view! { <li><a href=step_link(l, 0, false) data-testid=format!("lesson-link-{}", l.name)>{l.title}</a>{format!(" ({} steps)", l.steps.len())}</li> })
                    .collect_view()}
            </ol>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notices_of(query: &str) -> Vec<String> {
        crate::link::view_notices(&format!("?{query}"))
    }

    #[test]
    fn every_step_sets_valid_state_and_links_round_trip() {
        assert!(LESSONS.len() >= 3);
        for l in &LESSONS {
            assert!(l.steps.len() >= 3, "{} has {} steps", l.name, l.steps.len());
            for (i, s) in l.steps.iter().enumerate() {
                assert!(notices_of(s.query).is_empty(), "{} step {}: {:?}", l.name, i + 1, notices_of(s.query));
                for text in [s.title, s.look, s.change, s.question, s.answer] {
                    assert!(text.len() >= 10 && !text.contains("TODO"), "{} step {}: {text:?}", l.name, i + 1);
                }
                let link = step_link(l, i, false);
                let (q, hash) = link.split_once('#').unwrap();
                assert_eq!(crate::route::parse_hash(&format!("#{hash}")), Ok(s.view));
                let (pairs, _) = crate::url::split_query(q, &[]);
                let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let (keys, notices) = parse_app_keys(&pairs);
                assert!(notices.is_empty(), "{notices:?}");
                let (got, step) = keys.lesson.unwrap();
                assert_eq!((got.name, step), (l.name, i));
                assert!(!keys.present);
                assert_eq!(fill_step(q, s), None, "a step's own link already sets its state");
                assert!(parse_app_keys(&[("lesson", l.name), ("step", &(i + 1).to_string()), ("present", "1")]).0.present);
            }
        }
    }

    #[test]
    fn bad_lesson_keys_get_notices_and_defaults() {
        let (k, n) = parse_app_keys(&[("lesson", "nope")]);
        assert_eq!(k.lesson, None);
        assert!(n[0].0.contains("“nope”") && n[0].0.contains("memory, toy, images"), "{n:?}");
        for bad in ["0", "99", "x", "-1", "1e3"] {
            let (k, n) = parse_app_keys(&[("lesson", "toy"), ("step", bad)]);
            assert_eq!(k.lesson.map(|(l, s)| (l.name, s)), Some(("toy", 0)), "{bad}");
            assert_eq!(n.len(), 1, "{bad}: {n:?}");
        }
        let (k, n) = parse_app_keys(&[("present", "maybe")]);
        assert!(!k.present && n.len() == 1);
        let (k, _) = parse_app_keys(&[("v", "\u{202e}0.1.0")]);
        assert_eq!(k.version.as_deref(), Some("0.1.0"), "bidi overrides dropped from the version shown");
    }

    #[test]
    fn a_bare_step_link_is_filled_with_the_steps_state_and_the_readers_keys_are_kept() {
        let s = &LESSONS[0].steps[1];
        let filled = fill_step("?lesson=memory&step=2", s).unwrap();
        assert_eq!(filled, format!("?lesson=memory&step=2&{}", s.query));
        // β changed by the reader in this step: kept, the rest filled.
        let kept = fill_step("?lesson=memory&step=2&beta=3", s).unwrap();
        assert!(kept.contains("beta=3") && !kept.contains("beta=1&"), "{kept}");
        assert_eq!(fill_step("", s).unwrap(), format!("?{}", s.query));
    }

    /// What the memory lesson's answers say, computed by the library the panel runs (a 41 × 41
    /// grid of starts over the panel's view): the claims are the science's, not the author's hope.
    #[test]
    fn the_memory_lessons_answers_are_what_the_library_computes() {
        use memgen_core::dense_am::{basin_map, BasinParams, DenseAm};
        let counts = |query: &str| {
            let pairs: Vec<(String, String)> = crate::url::split_query(query, &[]).0;
            let (st, n) = crate::state::DenseAmState::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            assert!(n.is_empty());
            let mem: Vec<f64> = st.memories().into_iter().flatten().collect();
            let am = DenseAm::new(&mem, 2, st.beta, st.form);
            let side = 41;
            let starts: Vec<f64> = (0..side * side).flat_map(|i| memgen_core::dense_am::grid_point(st.view, side, side, i % side, i / side)).collect();
            let map = basin_map(&am, &starts, &BasinParams::default());
            (map.stored_count(), map.spurious_count(), st.k)
        };
        let steps = LESSONS[0].steps;
        let (stored, spurious, k) = counts(steps[0].query);
        assert_eq!((stored, spurious), (k, 0), "step 1: every memory its own well");
        let (stored, spurious, _) = counts(steps[1].query);
        assert_eq!((stored, spurious), (0, 1), "step 2: one mixture at the centre");
        let (stored, spurious, k) = counts(steps[2].query);
        assert!(stored < k && spurious >= 1, "step 3: crowded memories merge into spurious mixtures ({stored} stored, {spurious} spurious)");
        assert_eq!(counts(steps[3].query), (0, 0, 9), "step 4: the ring valley, where no start converges");
        assert_eq!(counts(steps[4].query), (0, 0, 40), "step 5: 40 memories at β = 10 merge");
        assert_eq!(counts(&steps[4].query.replace("beta=10", "beta=15")), (40, 0, 40), "step 5: β = 15 brings all 40 back");
    }
}
