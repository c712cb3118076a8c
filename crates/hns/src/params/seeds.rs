//! Hard-coded seed peers (data copied from hsd@698e252 `lib/net/seeds/main.js` and
//! `lib/net/seeds/testnet.js`). `key@ip` entries are brontide peers (dial the brontide port),
//! bare `ip` entries are plain-TCP peers (dial the P2P port). Hints only: never trusted.

/// Mainnet seed peers.
pub(super) const MAIN: &[&str] = &[
    "aksygghkgmciomeldjf5sc6rs2sgn2m34zfdz4xr7z5vguqvjis4e@129.153.177.220",
    "apt4rf2dfyelbivg63u47wykvdjtsl4kxzfdylkaae5s5ydldlnwu@159.69.46.23",
    "ajdzrpoxsusaw4ixq4ttibxxsuh5fkkduc5qszyboidif2z25i362@173.255.209.126",
    "akimcha5bck7s344dmge6k3agtxd2txi6x4qzg3mo26spvf5bjol2@74.207.247.120",
    "aoihqqagbhzz6wxg43itefqvmgda4uwtky362p22kbimcyg5fdp54@172.104.214.189",
    "ap5vuwabzwyz6akhesanada4skhetd2jsvpkwuqxzuaoovn5ez4xg@45.79.134.225",
    "aiwykdz37okry3pb2lzdsgbxeg72uky2zckxmiapzstpqqmb2hnge@35.154.209.88",
    "ai7dgiwueiiwber6uhoeqfjdujxph6ueqpnaml36sicakngmnm3am@194.50.5.26",
    "aokj73pefmtrc7ikoxqiz4nrhgrxeqnnjpv4wxekteup33duneih2@194.50.5.27",
    "ajd6wzdp34c32rymlljybvbosnx75aty4rwmtpkxshvfrqufq6vuk@194.50.5.28",
    "129.153.177.220",
    "159.69.46.23",
    "173.255.209.126",
    "74.207.247.120",
    "172.104.214.189",
    "45.79.134.225",
    "35.154.209.88",
    "194.50.5.26",
    "194.50.5.27",
    "194.50.5.28",
    "139.59.211.187",
    "5.161.64.49",
    "85.214.33.200",
    "202.61.250.91",
];

/// Testnet seed peers.
pub(super) const TESTNET: &[&str] = &[
    "aoihqqagbhzz6wxg43itefqvmgda4uwtky362p22kbimcyg5fdp54@172.104.214.189",
    "ajdzrpoxsusaw4ixq4ttibxxsuh5fkkduc5qszyboidif2z25i362@173.255.209.126",
    "ajk57wutnhfdzvqwqrgab3wwh4wxoqgnkz4avbln54pgj5jwefcts@172.104.177.177",
    "am2lsmbzzxncaptqjo22jay3mztfwl33bxhkp7icfx7kmi5rvjaic@139.162.183.168",
];
