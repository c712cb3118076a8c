//! The four networks' constants (hsd@698e252 `lib/protocol/networks.js`, `genesis.js`;
//! hns-chain.md §2.3, §2.4, §3). The tests in `params/tests.rs` recompute every derived value
//! (genesis hashes, magic, limit targets) from first principles.

use ruint::aliases::U256;

use super::{Checkpoint, NameRules, Network, NetworkParams, PowParams, seeds};
use crate::header::Header;
use crate::pow::{Chainwork, Target};
use crate::types::{BlockHash, TreeRoot};

/// hsd's `maxTipAge` for main and testnet: 12 hours.
const TWELVE_HOURS: u64 = 12 * 60 * 60;

/// hsd's `maxTipAge` for regtest and simnet: effectively "never stale".
const NEVER_STALE: u64 = 0xffff_ffff;

/// Decodes 64 lower-case hex characters at compile time. Anything else yields zeros, which the
/// params tests would catch (every constant built with it is checked against a recomputation).
const fn hex32(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let mut out = [0u8; 32];
    if bytes.len() != 64 {
        return [0u8; 32];
    }
    let mut i = 0;
    while i < 32 {
        match (nibble(bytes[2 * i]), nibble(bytes[2 * i + 1])) {
            (Some(hi), Some(lo)) => out[i] = (hi << 4) | lo,
            _ => return [0u8; 32],
        }
        i += 1;
    }
    out
}

/// The four genesis headers share everything except `time` and `bits` (hns-chain.md §3.1).
const fn genesis_header(time: u64, bits: u32) -> Header {
    Header {
        nonce: 0,
        time,
        prev_block: BlockHash([0u8; 32]),
        tree_root: TreeRoot([0u8; 32]),
        extra_nonce: [0u8; 24],
        reserved_root: [0u8; 32],
        witness_root: hex32("1a2c60b9439206938f8d7823782abdb8b211a57431e9c9b6a6365d8d42893351"),
        merkle_root: hex32("8e4c9756fef2ad10375f360e0560fcc7587eb5223ddf8cd7c7e06e60a1140b15"),
        version: 0,
        bits,
        mask: [0u8; 32],
    }
}

const fn checkpoint(height: u32, hash: &str) -> Checkpoint {
    Checkpoint {
        height,
        hash: BlockHash(hex32(hash)),
    }
}

const fn target(hex: &str) -> Target {
    Target::from_u256_unchecked(U256::from_be_bytes(hex32(hex)))
}

/// The difficulty constants shared by all four networks at this hsd version (144-block window,
/// 10-minute spacing, clamp to [¼, 4] × one day).
const fn pow(limit_bits: u32, limit: &str, reset: bool, no_retarget: bool, work: u64) -> PowParams {
    PowParams {
        limit_bits,
        limit_target: target(limit),
        target_window: 144,
        target_spacing: 600,
        blocks_per_day: 144,
        target_timespan: 144 * 600,
        min_actual: 144 * 600 / 4,
        max_actual: 144 * 600 * 4,
        target_reset: reset,
        no_retargeting: no_retarget,
        min_chainwork: Chainwork::from_u256(U256::from_limbs([work, 0, 0, 0])),
    }
}

/// hsd `main.checkpointMap` (hns-chain.md §2.4), sorted by height.
const MAIN_CHECKPOINTS: &[Checkpoint] = &[
    checkpoint(
        1008,
        "0000000000001013c28fa079b545fb805f04c496687799b98e35e83cbbb8953e",
    ),
    checkpoint(
        2016,
        "0000000000000424ee6c2a5d6e0da5edfc47a4a10328c1792056ee48303c3e40",
    ),
    checkpoint(
        10000,
        "00000000000001a86811a6f520bf67cefa03207dc84fd315f58153b28694ec51",
    ),
    checkpoint(
        20000,
        "0000000000000162c7ac70a582256f59c189b5c90d8e9861b3f374ed714c58de",
    ),
    checkpoint(
        30000,
        "0000000000000004f790862846b23c3a81585aea0fa79a7d851b409e027bcaa7",
    ),
    checkpoint(
        40000,
        "0000000000000002966206a40b10a575cb46531253b08dae8e1b356cfa277248",
    ),
    checkpoint(
        50000,
        "00000000000000020c7447e7139feeb90549bfc77a7f18d4ff28f327c04f8d6e",
    ),
    checkpoint(
        56880,
        "0000000000000001d4ef9ea6908bb4eb970d556bd07cbd7d06a634e1cd5bbf4e",
    ),
    checkpoint(
        61043,
        "00000000000000015b84385e0307370f8323420eaa27ef6e407f2d3162f1fd05",
    ),
    checkpoint(
        100000,
        "000000000000000136d7d3efa688072f40d9fdd71bd47bb961694c0f38950246",
    ),
    checkpoint(
        130000,
        "0000000000000005ee5106df9e48bcd232a1917684ac344b35ddd9b9e4101096",
    ),
    checkpoint(
        160000,
        "00000000000000021e723ce5aedc021ab4f85d46a6914e40148f01986baa46c9",
    ),
    checkpoint(
        200000,
        "000000000000000181ebc18d6c34442ffef3eedca90c57ca8ecc29016a1cfe16",
    ),
    checkpoint(
        225000,
        "00000000000000021f0be013ebad018a9ef97c8501766632f017a778781320d5",
    ),
    checkpoint(
        258026,
        "0000000000000004963d20732c58e5a91cb7e1b61ec6709d031f1a5ca8c55b95",
    ),
];

/// The fixed brontide identity of regtest and simnet nodes (hsd `regtest.identityKey`).
const TEST_IDENTITY_KEY: [u8; 32] =
    hex32("104932181cfed7584105c728cdc0eb9af1e7ffdc4a00743fd45e5de66cac7668");

const MAIN_LIMIT: &str = "0000000000ffff00000000000000000000000000000000000000000000000000";
const TESTNET_LIMIT: &str = "00000000ffff0000000000000000000000000000000000000000000000000000";
const REGTEST_LIMIT: &str = "7fffff0000000000000000000000000000000000000000000000000000000000";

pub(super) static MAIN: NetworkParams = NetworkParams {
    network: Network::Main,
    magic: 0x5b6e_f2d3,
    port: 12038,
    brontide_port: 44806,
    rpc_port: 12037,
    wallet_port: 12039,
    ns_port: 5349,
    rs_port: 5350,
    genesis: genesis_header(1_580_745_078, 0x1c00_ffff),
    genesis_hash: BlockHash(hex32(
        "5b6ef2d3c1f3cdcadfd9a030ba1811efdd17740f14e166489760741d075992e0",
    )),
    pow: pow(0x1c00_ffff, MAIN_LIMIT, false, false, 0x75b5_a2b7_bf52_2d45),
    max_tip_age: TWELVE_HOURS,
    checkpoints: MAIN_CHECKPOINTS,
    last_checkpoint: 258_026,
    dns_seeds: &["hs-mainnet.bcoin.ninja", "seed.htools.work"],
    seed_peers: seeds::MAIN,
    identity_key: None,
    self_connect: false,
    address_hrp: "hs",
    names: NameRules {
        tree_interval: 36,
        auction_start: 2016,
        rollout_interval: 1008,
        lockup_period: 4320,
        bidding_period: 720,
        reveal_period: 1440,
        renewal_window: 105_120,
        claim_period: 210_240,
        transfer_lockup: 288,
        auction_maturity: 4176,
        no_rollout: false,
        no_reserved: false,
    },
};

pub(super) static TESTNET: NetworkParams = NetworkParams {
    network: Network::Testnet,
    magic: 0xb152_0dd2,
    port: 13038,
    brontide_port: 45806,
    rpc_port: 13037,
    wallet_port: 13039,
    ns_port: 15349,
    rs_port: 15350,
    genesis: genesis_header(1_580_745_079, 0x1d00_ffff),
    genesis_hash: BlockHash(hex32(
        "b1520dd24372f82ec94ebf8cf9d9b037d419c4aa3575d05dec70aedd1b427901",
    )),
    pow: pow(0x1d00_ffff, TESTNET_LIMIT, true, false, 0),
    max_tip_age: TWELVE_HOURS,
    checkpoints: &[],
    last_checkpoint: 0,
    dns_seeds: &["hs-testnet.bcoin.ninja"],
    seed_peers: seeds::TESTNET,
    identity_key: None,
    self_connect: false,
    address_hrp: "ts",
    // hns-chain.md §3.2 testnet column (hsd's formulas with blocksPerDay = 144).
    names: NameRules {
        tree_interval: 36,
        auction_start: 36,
        rollout_interval: 36,
        lockup_period: 36,
        bidding_period: 144,
        reveal_period: 288,
        renewal_window: 4320,
        claim_period: 12_960,
        transfer_lockup: 288,
        auction_maturity: 1008,
        no_rollout: false,
        no_reserved: false,
    },
};

pub(super) static REGTEST: NetworkParams = NetworkParams {
    network: Network::Regtest,
    magic: 0xae38_95cf,
    port: 14038,
    brontide_port: 46806,
    rpc_port: 14037,
    wallet_port: 14039,
    ns_port: 25349,
    rs_port: 25350,
    genesis: genesis_header(1_580_745_080, 0x207f_ffff),
    genesis_hash: BlockHash(hex32(
        "ae3895cf597eff05b19e02a70ceeeecb9dc72dbfe6504a50e9343a72f06a87c5",
    )),
    pow: pow(0x207f_ffff, REGTEST_LIMIT, true, true, 0),
    max_tip_age: NEVER_STALE,
    checkpoints: &[],
    last_checkpoint: 0,
    dns_seeds: &[],
    seed_peers: &[],
    identity_key: Some(TEST_IDENTITY_KEY),
    self_connect: true,
    address_hrp: "rs",
    names: NameRules {
        tree_interval: 5,
        auction_start: 0,
        rollout_interval: 2,
        lockup_period: 2,
        bidding_period: 5,
        reveal_period: 10,
        renewal_window: 5000,
        claim_period: 250_000,
        transfer_lockup: 10,
        auction_maturity: 65,
        no_rollout: false,
        no_reserved: false,
    },
};

pub(super) static SIMNET: NetworkParams = NetworkParams {
    network: Network::Simnet,
    magic: 0x0e64_8edc,
    port: 15038,
    brontide_port: 47806,
    rpc_port: 15037,
    wallet_port: 15039,
    ns_port: 35349,
    rs_port: 35350,
    genesis: genesis_header(1_580_745_081, 0x207f_ffff),
    genesis_hash: BlockHash(hex32(
        "0e648edc9cddb179014658061ea3f666a45cf44881877ae506e6babefbef6992",
    )),
    pow: pow(0x207f_ffff, REGTEST_LIMIT, false, false, 0),
    max_tip_age: NEVER_STALE,
    checkpoints: &[],
    last_checkpoint: 0,
    dns_seeds: &[],
    seed_peers: &[],
    identity_key: Some(TEST_IDENTITY_KEY),
    self_connect: true,
    address_hrp: "ss",
    // hsd `simnet.names` (literals; not in hns-chain.md §3.2).
    names: NameRules {
        tree_interval: 2,
        auction_start: 0,
        rollout_interval: 1,
        lockup_period: 1,
        bidding_period: 25,
        reveal_period: 50,
        renewal_window: 2500,
        claim_period: 75_000,
        transfer_lockup: 5,
        auction_maturity: 100,
        no_rollout: false,
        no_reserved: false,
    },
};
