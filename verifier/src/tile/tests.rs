use super::*;
use crate::hash::leaf_hash;
use crate::tree::{InMemoryHashes, root_from_leaf_hashes, split_stored_hash_index};

#[test]
fn index_encoding_examples() {
    assert_eq!(encode_index(0), "000");
    assert_eq!(encode_index(7), "007");
    assert_eq!(encode_index(1000), "x001/000");
    assert_eq!(encode_index(1234067), "x001/x234/067");
    assert_eq!(decode_index("x001/x234/067"), Ok(1234067));
    assert_eq!(decode_index(&encode_index(u64::MAX)), Ok(u64::MAX));
}

#[test]
fn paths_round_trip() {
    for path in [
        "tile/0/000",
        "tile/0/x001/x234/067",
        "tile/63/x001/000.p/255",
        "tile/1/005.p/1",
        "tile/entries/000",
        "tile/entries/x123/456.p/17",
    ] {
        let c = TileCoord::parse(path).unwrap();
        assert_eq!(c.to_string(), path);
    }
    let c = TileCoord::parse("tile/entries/x001/x234/067.p/8").unwrap();
    assert_eq!(
        c,
        TileCoord {
            kind: TileKind::Entries,
            index: 1234067,
            width: 8
        }
    );
    assert!(c.is_partial());
    for n in (0..5_000_000u64).step_by(997) {
        assert_eq!(decode_index(&encode_index(n)), Ok(n));
    }
}

#[test]
fn malformed_paths_are_rejected() {
    let bad = [
        ("", TileError::NotATilePath),
        ("tiles/0/000", TileError::NotATilePath),
        ("/tile/0/000", TileError::NotATilePath),
        ("tile/0", TileError::NotATilePath),
        ("tile/64/000", TileError::BadLevel),
        ("tile/00/000", TileError::BadLevel),
        ("tile/01/000", TileError::BadLevel),
        ("tile/-1/000", TileError::BadLevel),
        ("tile/a/000", TileError::BadLevel),
        ("tile//000", TileError::BadLevel),
        ("tile/0/00", TileError::BadIndex),
        ("tile/0/0000", TileError::BadIndex),
        ("tile/0/1", TileError::BadIndex),
        ("tile/0/x000/001", TileError::BadIndex),
        ("tile/0/x01/001", TileError::BadIndex),
        ("tile/0/001/002", TileError::BadIndex),
        ("tile/0/x001/x002", TileError::BadIndex),
        ("tile/0/x001", TileError::BadIndex),
        ("tile/0/x001//002", TileError::BadIndex),
        (
            "tile/0/x999/x999/x999/x999/x999/x999/999",
            TileError::BadIndex,
        ),
        (
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            TileError::BadIndex,
        ),
        ("tile/0/00a", TileError::BadIndex),
        ("tile/0/000/", TileError::BadIndex),
        ("tile/0/000.p/0", TileError::BadWidth),
        ("tile/0/000.p/256", TileError::BadWidth),
        ("tile/0/000.p/07", TileError::BadWidth),
        ("tile/0/000.p/", TileError::BadWidth),
        ("tile/0/000.p/1/2", TileError::BadWidth),
        ("tile/0/000.p/+1", TileError::BadWidth),
        ("tile/0/000.q/1", TileError::BadIndex),
        ("tile/entries/001.p/0", TileError::BadWidth),
    ];
    for (p, want) in bad {
        assert_eq!(TileCoord::parse(p), Err(want), "{p}");
    }
}

#[test]
fn spec_example_size_70000() {
    // tlog-tiles.md: 273 full level-0 tiles, a partial of width 112, one
    // full level-1 tile, a level-1 partial of width 17, a level-2 partial of 1.
    let (c, _) = TileCoord::for_node(0, 69_999, 70_000).unwrap();
    assert_eq!(c.to_string(), "tile/0/273.p/112");
    let (c, _) = TileCoord::for_node(0, 273 * 256 - 1, 70_000).unwrap();
    assert_eq!(c.to_string(), "tile/0/272");
    let (c, r) = TileCoord::for_node(8, 272, 70_000).unwrap();
    assert_eq!((c.to_string(), r), ("tile/1/001.p/17".to_owned(), 16..17));
    let (c, _) = TileCoord::for_node(16, 0, 70_000).unwrap();
    assert_eq!(c.to_string(), "tile/2/000.p/1");
    assert_eq!(
        TileCoord::for_node(0, 70_000, 70_000),
        Err(TileError::NotInTree)
    );
    assert_eq!(
        TileCoord::for_node(9, 137, 70_000),
        Err(TileError::NotInTree)
    );
    let (b, off) = TileCoord::entry_bundle_for(1000, 70_000).unwrap();
    assert_eq!((b.to_string(), off), ("tile/entries/003".to_owned(), 232));
}

#[test]
fn tiles_reproduce_stored_hashes() {
    // Every stored hash of a 700-leaf tree can be rebuilt from its tile.
    let mut t = InMemoryHashes::new();
    let leaves: Vec<_> = (0..700u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    for l in &leaves {
        t.append_leaf_hash(l).unwrap();
    }
    let level0 = leaves.clone();
    let level1: Vec<_> = leaves
        .chunks(256)
        .filter(|c| c.len() == 256)
        .map(root_from_leaf_hashes)
        .collect();
    for (i, stored) in t.stored().iter().enumerate() {
        let (level, n) = split_stored_hash_index(i as u64);
        let (c, r) = TileCoord::for_node(level, n, 700).unwrap();
        let TileKind::Hashes(tl) = c.kind else {
            panic!()
        };
        let src = if tl == 0 { &level0 } else { &level1 };
        let start = (c.index * 256) as usize;
        let tile = &src[start..start + c.width as usize];
        assert_eq!(
            &subtree_hash_from_tile(tile, r).unwrap(),
            stored,
            "({level},{n})"
        );
    }
}

#[test]
fn hash_tiles_and_bundles() {
    let bytes = vec![7u8; 64];
    assert_eq!(parse_hash_tile(&bytes, 2).unwrap(), vec![[7u8; 32]; 2]);
    assert_eq!(
        parse_hash_tile(&bytes, 3),
        Err(TileError::BadTileLength { got: 64, want: 96 })
    );
    assert_eq!(
        parse_hash_tile(&bytes[..63], 2),
        Err(TileError::BadTileLength { got: 63, want: 64 })
    );
    assert_eq!(parse_hash_tile(&[], 0), Err(TileError::BadWidth));
    assert_eq!(parse_hash_tile(&[], 257), Err(TileError::BadWidth));

    let entries: Vec<&[u8]> = vec![b"", b"a", &[0u8; 300]];
    let b = format_entry_bundle(&entries).unwrap();
    assert_eq!(parse_entry_bundle(&b, Some(3)).unwrap(), entries);
    assert_eq!(
        parse_entry_bundle(&b, Some(2)),
        Err(TileError::BundleCount { got: 3, want: 2 })
    );
    assert_eq!(
        parse_entry_bundle(&b[..b.len() - 1], None),
        Err(TileError::TruncatedBundle)
    );
    assert_eq!(
        parse_entry_bundle(&[0], None),
        Err(TileError::TruncatedBundle)
    );
    assert_eq!(parse_entry_bundle(&[], Some(0)).unwrap().len(), 0);
    let too_many = format_entry_bundle(&vec![b"x"; 257]).unwrap();
    assert!(matches!(
        parse_entry_bundle(&too_many, None),
        Err(TileError::BundleCount { .. })
    ));
    assert_eq!(
        format_entry_bundle(&[vec![0u8; 65536]]),
        Err(TileError::EntryTooLarge(65536))
    );
}
