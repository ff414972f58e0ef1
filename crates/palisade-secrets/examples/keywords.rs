//! Prints every secret rule's keywords, one per line: what `bench/secrets.sh` gives ripgrep
//! to measure the floor of a keyword-prefiltered scan.

fn main() {
    let mut words: Vec<&str> = palisade_secrets::rules::all()
        .iter()
        .flat_map(|r| r.keywords.iter().copied())
        .collect();
    words.sort_unstable();
    words.dedup();
    for w in words {
        println!("{w}");
    }
}
