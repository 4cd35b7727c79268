fn main() {
    memgen_lab::start();
}
