//! Batch order shared by the training loops of the toy and the UNet.

use memgen_core::spec::NoiseStream;

/// Reshuffled-epoch order over `0..K` (without replacement inside an epoch, like a shuffled
/// `DataLoader`): a Fisher–Yates shuffle from the run's seeded stream at each epoch start.
#[derive(Debug, Clone)]
pub(crate) struct EpochOrder {
    perm: Vec<usize>,
    pos: usize,
}

impl EpochOrder {
    pub(crate) fn new(k: usize) -> Self {
        EpochOrder { perm: (0..k).collect(), pos: k }
    }

    pub(crate) fn next(&mut self, rng: &mut NoiseStream) -> usize {
        if self.pos >= self.perm.len() {
            for i in (1..self.perm.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                self.perm.swap(i, j);
            }
            self.pos = 0;
        }
        self.pos += 1;
        self.perm[self.pos - 1]
    }
}
