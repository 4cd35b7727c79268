//! Data parallelism with one spelling on every target: natively rayon's parallel slice and
//! vector methods; in the browser (one thread) the plain iterators they stand for. Code that
//! `use memgen_core::par::*;` needs no `cfg` of its own, and gives the same results on both,
//! since the work is split the same way and reduced in the same order.

#[cfg(not(target_arch = "wasm32"))]
pub use rayon::prelude::*;
#[cfg(target_arch = "wasm32")]
pub use seq::*;

/// Threads data-parallel work spreads over (1 in the browser).
pub fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::current_num_threads();
    #[cfg(target_arch = "wasm32")]
    1
}

#[cfg(target_arch = "wasm32")]
mod seq {
    /// rayon's slice methods as sequential iterators.
    pub trait ParSlice<T> {
        fn par_iter(&self) -> std::slice::Iter<'_, T>;
        fn par_iter_mut(&mut self) -> std::slice::IterMut<'_, T>;
        fn par_chunks(&self, n: usize) -> std::slice::Chunks<'_, T>;
        fn par_chunks_mut(&mut self, n: usize) -> std::slice::ChunksMut<'_, T>;
    }
    impl<T> ParSlice<T> for [T] {
        fn par_iter(&self) -> std::slice::Iter<'_, T> {
            self.iter()
        }
        fn par_iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
            self.iter_mut()
        }
        fn par_chunks(&self, n: usize) -> std::slice::Chunks<'_, T> {
            self.chunks(n)
        }
        fn par_chunks_mut(&mut self, n: usize) -> std::slice::ChunksMut<'_, T> {
            self.chunks_mut(n)
        }
    }
    /// rayon's `into_par_iter` of a vector as its sequential iterator.
    pub trait IntoParIter<T> {
        fn into_par_iter(self) -> std::vec::IntoIter<T>;
    }
    impl<T> IntoParIter<T> for Vec<T> {
        fn into_par_iter(self) -> std::vec::IntoIter<T> {
            self.into_iter()
        }
    }
}
