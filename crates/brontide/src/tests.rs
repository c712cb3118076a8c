use super::*;

#[test]
fn identity_keys_parse_in_both_forms() {
    let key = "aorsxa4ylaacshipyjkfbvzfkh3jhh4yowtoqdt64nzemqtiw2whk";
    let parsed = parse_identity_key(key).unwrap();
    let hex_form = hex::encode(parsed.serialize());
    assert_eq!(parse_identity_key(&hex_form).unwrap(), parsed);
    for bad in ["", "zz", &key[1..], &hex_form[2..], "@@@@"] {
        assert!(parse_identity_key(bad).is_err(), "{bad:?}");
    }
}
