import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type GroupAssignments,
  type GroupBalancer,
  type GroupMember,
  type GroupPartition,
  RackAffinityGroupBalancer,
  RangeGroupBalancer,
  RoundRobinGroupBalancer,
} from "./balancers.ts";

const utf8 = new TextEncoder();

/** Plain data of an assignment, keys sorted, for comparison with vectors. */
type Plain = Record<string, Record<string, number[]>>;

function plain(assignments: GroupAssignments): Plain {
  const out: Plain = {};
  for (const id of [...assignments.keys()].sort()) {
    const topics = assignments.get(id)!;
    out[id] = {};
    for (const topic of [...topics.keys()].sort()) {
      out[id][topic] = topics.get(topic)!;
    }
  }
  return out;
}

/** The same object with its keys sorted at every level. */
function sortKeys(value: Plain): Plain {
  const out: Plain = {};
  for (const id of Object.keys(value).sort()) {
    out[id] = {};
    for (const topic of Object.keys(value[id]).sort()) {
      out[id][topic] = value[id][topic];
    }
  }
  return out;
}

interface Vector {
  name: string;
  /** [id, topics, rack]: the rack is the member's user data, null for none. */
  members: [string, string[], string | null][];
  /** [topic, partition, rack of the leader or null], in the order given. */
  partitions: [string, number, string | null][];
  range: Plain;
  roundrobin: Plain;
  /** Every distinct result kafka-go gave over 2000 runs (see below). */
  rackAffinity: Plain[];
}

/**
 * Produced by kafka-go v0.4.51's RangeGroupBalancer, RoundRobinGroupBalancer
 * and RackAffinityGroupBalancer (groupbalancer.go, unchanged since), run by a
 * throwaway Go program on the same members and partitions: kafka-go's doc
 * examples and test cases, edge cases, then 60 random inputs (1 to 5 members
 * with uneven subscriptions in random order, 1 to 3 topics of 0 to 13
 * partitions, shuffled or interleaved partition lists, a topic nobody
 * subscribes to, racks of up to four zones including none).
 *
 * kafka-go's results are normalized the way ours are documented: every
 * member present, topics with no partitions left out. A member's rack is sent
 * as its user data (null: none); a partition's rack is its leader's.
 *
 * RackAffinity iterates over Go maps, whose order is random, so where the
 * order of the racks matters kafka-go gives different results from run to
 * run: each vector lists all those seen in 2000 runs, and ours must be one.
 * Range and RoundRobin gave one result every time.
 *
 * One JSON object per line, ASCII only (JSON escapes for the rest, which
 * Bun's transpiler would otherwise rewrite inside the raw string).
 */
const VECTORS: Vector[] = String.raw`
{"name":"5 partitions, 2 members","members":[["C0",["t"],null],["C1",["t"],null]],"partitions":[["t",0,null],["t",1,null],["t",2,null],["t",3,null],["t",4,null]],"range":{"C0":{"t":[0,1]},"C1":{"t":[2,3,4]}},"roundrobin":{"C0":{"t":[0,2,4]},"C1":{"t":[1,3]}},"rackAffinity":[{"C0":{"t":[0,1,4]},"C1":{"t":[2,3]}}]}
{"name":"6 partitions, 3 members","members":[["C0",["t"],null],["C1",["t"],null],["C2",["t"],null]],"partitions":[["t",0,null],["t",1,null],["t",2,null],["t",3,null],["t",4,null],["t",5,null]],"range":{"C0":{"t":[0,1]},"C1":{"t":[2,3]},"C2":{"t":[4,5]}},"roundrobin":{"C0":{"t":[0,3]},"C1":{"t":[1,4]},"C2":{"t":[2,5]}},"rackAffinity":[{"C0":{"t":[0,1]},"C1":{"t":[2,3]},"C2":{"t":[4,5]}}]}
{"name":"1 partition, 3 members","members":[["c",["t"],null],["b",["t"],null],["a",["t"],null]],"partitions":[["t",0,null]],"range":{"a":{},"b":{},"c":{"t":[0]}},"roundrobin":{"a":{"t":[0]},"b":{},"c":{}},"rackAffinity":[{"a":{},"b":{},"c":{"t":[0]}}]}
{"name":"no members","members":[],"partitions":[["t",0,null],["t",1,null],["t",2,null]],"range":{},"roundrobin":{},"rackAffinity":[{}]}
{"name":"no partitions","members":[["a",["t"],null],["b",["t","u"],null]],"partitions":[],"range":{"a":{},"b":{}},"roundrobin":{"a":{},"b":{}},"rackAffinity":[{"a":{},"b":{}}]}
{"name":"member with no topics","members":[["a",[],null],["b",["t"],null]],"partitions":[["t",0,null],["t",1,null],["t",2,null],["t",3,null]],"range":{"a":{},"b":{"t":[0,1,2,3]}},"roundrobin":{"a":{},"b":{"t":[0,1,2,3]}},"rackAffinity":[{"a":{},"b":{"t":[0,1,2,3]}}]}
{"name":"unsubscribed topic","members":[["a",["t"],null]],"partitions":[["u",0,null],["u",1,null],["t",0,null],["t",1,null]],"range":{"a":{"t":[0,1]}},"roundrobin":{"a":{"t":[0,1]}},"rackAffinity":[{"a":{"t":[0,1]}}]}
{"name":"member ids compared as UTF-8","members":[["\ud83d\ude00",["t"],null],["\ufb01",["t"],null],["z",["t"],null],["Z",["t"],null],["\u00e9",["t"],null]],"partitions":[["t",0,null],["t",1,null],["t",2,null],["t",3,null],["t",4,null],["t",5,null],["t",6,null]],"range":{"Z":{"t":[0]},"z":{"t":[1]},"\u00e9":{"t":[2,3]},"\ufb01":{"t":[4]},"\ud83d\ude00":{"t":[5,6]}},"roundrobin":{"Z":{"t":[0,5]},"z":{"t":[1,6]},"\u00e9":{"t":[2]},"\ufb01":{"t":[3]},"\ud83d\ude00":{"t":[4]}},"rackAffinity":[{"Z":{"t":[3]},"z":{"t":[2]},"\u00e9":{"t":[4]},"\ufb01":{"t":[1,6]},"\ud83d\ude00":{"t":[0,5]}}]}
{"name":"partitions out of order","members":[["b",["t"],null],["a",["t"],null]],"partitions":[["t",3,null],["t",0,null],["t",4,null],["t",1,null],["t",2,null]],"range":{"a":{"t":[3,0]},"b":{"t":[4,1,2]}},"roundrobin":{"a":{"t":[3,4,2]},"b":{"t":[0,1]}},"rackAffinity":[{"a":{"t":[4,1]},"b":{"t":[3,0,2]}}]}
{"name":"kafka-go multi topic","members":[["z1",["topic1","topic2"],"z1"],["z2",["topic2","topic3"],"z2"],["z3",["topic3","topic1"],"z3"]],"partitions":[["topic1",1,"z1"],["topic1",2,"z3"],["topic2",1,"z1"],["topic2",2,"z2"],["topic3",1,"z3"],["topic3",2,"z2"]],"range":{"z1":{"topic1":[1],"topic2":[1]},"z2":{"topic2":[2],"topic3":[1]},"z3":{"topic1":[2],"topic3":[2]}},"roundrobin":{"z1":{"topic1":[1],"topic2":[1]},"z2":{"topic2":[2],"topic3":[1]},"z3":{"topic1":[2],"topic3":[2]}},"rackAffinity":[{"z1":{"topic1":[1],"topic2":[1]},"z2":{"topic2":[2],"topic3":[2]},"z3":{"topic1":[2],"topic3":[1]}}]}
{"name":"imbalanced partitions","members":[["z1:1",["test"],"z1"],["z2:2",["test"],"z2"],["z3:3",["test"],"z3"]],"partitions":[["test",0,"z1"],["test",1,"z1"],["test",2,"z1"],["test",3,"z1"],["test",4,"z1"],["test",5,"z1"],["test",6,"z1"],["test",7,"z3"],["test",8,"z3"],["test",9,"z3"],["test",10,"z3"],["test",11,"z3"],["test",12,"z3"],["test",13,"z3"]],"range":{"z1:1":{"test":[0,1,2,3]},"z2:2":{"test":[4,5,6,7,8]},"z3:3":{"test":[9,10,11,12,13]}},"roundrobin":{"z1:1":{"test":[0,3,6,9,12]},"z2:2":{"test":[1,4,7,10,13]},"z3:3":{"test":[2,5,8,11]}},"rackAffinity":[{"z1:1":{"test":[0,1,2,3,4]},"z2:2":{"test":[12,13,5,6]},"z3:3":{"test":[7,8,9,10,11]}},{"z1:1":{"test":[0,1,2,3,4]},"z2:2":{"test":[5,6,12,13]},"z3:3":{"test":[7,8,9,10,11]}}]}
{"name":"unknown zones","members":[["m1",["t"],null],["m2",["t"],""],["m3",["t"],"a"]],"partitions":[["t",0,null],["t",1,"a"],["t",2,null],["t",3,"b"],["t",4,null]],"range":{"m1":{"t":[0]},"m2":{"t":[1,2]},"m3":{"t":[3,4]}},"roundrobin":{"m1":{"t":[0,3]},"m2":{"t":[1,4]},"m3":{"t":[2]}},"rackAffinity":[{"m1":{"t":[0,4]},"m2":{"t":[2,3]},"m3":{"t":[1]}}]}
{"name":"rack names in UTF-8","members":[["m1",["t"],"zone-\u00e9"],["m2",["t"],"zone-e"]],"partitions":[["t",0,"zone-e"],["t",1,"zone-\u00e9"],["t",2,"zone-\u00e9"],["t",3,"zone-e"]],"range":{"m1":{"t":[0,1]},"m2":{"t":[2,3]}},"roundrobin":{"m1":{"t":[0,2]},"m2":{"t":[1,3]}},"rackAffinity":[{"m1":{"t":[1,2]},"m2":{"t":[0,3]}}]}
{"name":"random 1","members":[["m19",["orders"],"us-east-1a"]],"partitions":[["orders",0,"us-east-1a"]],"range":{"m19":{"orders":[0]}},"roundrobin":{"m19":{"orders":[0]}},"rackAffinity":[{"m19":{"orders":[0]}}]}
{"name":"random 2","members":[["consumer-10-5210f39e",["t1","t0"],null],["consumer-9-b2d74f1b",["t0","t1","t2"],"us-east-1a"],["consumer-3-e79f5cc5",["t0","t1","t2"],"us-east-1a"],["consumer-9-2216b56b",["t0","t1","t2"],"us-east-1a"]],"partitions":[["t0",0,"us-east-1a"],["t0",1,"us-east-1a"],["t0",2,"us-east-1a"],["t0",3,"us-east-1a"],["t0",4,"us-east-1a"],["t0",5,null],["t1",0,"us-east-1a"],["t1",1,"us-east-1a"],["t1",2,"us-east-1a"],["t1",3,"us-east-1a"],["t1",4,"us-east-1a"],["t1",5,"us-east-1a"],["t1",6,"us-east-1a"],["t1",7,"us-east-1a"],["t1",8,"us-east-1a"],["t1",9,"us-east-1a"],["t2",0,"us-east-1a"],["t2",1,"us-east-1a"]],"range":{"consumer-10-5210f39e":{"t0":[0],"t1":[0,1]},"consumer-3-e79f5cc5":{"t0":[1,2],"t1":[2,3,4]},"consumer-9-2216b56b":{"t0":[3],"t1":[5,6],"t2":[0]},"consumer-9-b2d74f1b":{"t0":[4,5],"t1":[7,8,9],"t2":[1]}},"roundrobin":{"consumer-10-5210f39e":{"t0":[0,4],"t1":[0,4,8]},"consumer-3-e79f5cc5":{"t0":[1,5],"t1":[1,5,9],"t2":[0]},"consumer-9-2216b56b":{"t0":[2],"t1":[2,6],"t2":[1]},"consumer-9-b2d74f1b":{"t0":[3],"t1":[3,7]}},"rackAffinity":[{"consumer-10-5210f39e":{"t0":[5],"t1":[8,9]},"consumer-3-e79f5cc5":{"t0":[1,4],"t1":[2,3,7],"t2":[1]},"consumer-9-2216b56b":{"t0":[2],"t1":[4,5]},"consumer-9-b2d74f1b":{"t0":[0,3],"t1":[0,1,6],"t2":[0]}}]}
{"name":"random 3","members":[["consumer-11-1fdb8f28",["b"],null],["consumer-8-17c4dc26",["b"],""],["consumer-11-dbd37f3a",["b"],null]],"partitions":[["b",0,"us-east-1c"],["b",1,"us-east-1b"],["b",2,"us-east-1c"],["b",3,""],["other",0,null],["other",1,"us-east-1a"]],"range":{"consumer-11-1fdb8f28":{"b":[0]},"consumer-11-dbd37f3a":{"b":[1]},"consumer-8-17c4dc26":{"b":[2,3]}},"roundrobin":{"consumer-11-1fdb8f28":{"b":[0,3]},"consumer-11-dbd37f3a":{"b":[1]},"consumer-8-17c4dc26":{"b":[2]}},"rackAffinity":[{"consumer-11-1fdb8f28":{"b":[3,0]},"consumer-11-dbd37f3a":{"b":[1]},"consumer-8-17c4dc26":{"b":[2]}},{"consumer-11-1fdb8f28":{"b":[3,1]},"consumer-11-dbd37f3a":{"b":[2]},"consumer-8-17c4dc26":{"b":[0]}}]}
{"name":"random 4","members":[["b",["payments"],"us-east-1a"]],"partitions":[["orders",0,"us-east-1a"],["orders",1,null],["orders",2,"us-east-1a"],["orders",3,"us-east-1a"],["orders",4,"us-east-1b"],["orders",5,"us-east-1b"],["orders",6,"us-east-1a"],["payments",0,null],["payments",1,"us-east-1b"],["payments",2,"us-east-1b"],["payments",3,"us-east-1b"],["payments",4,"us-east-1b"],["payments",5,"us-east-1a"],["payments",6,"us-east-1a"]],"range":{"b":{"payments":[0,1,2,3,4,5,6]}},"roundrobin":{"b":{"payments":[0,1,2,3,4,5,6]}},"rackAffinity":[{"b":{"payments":[5,6,0,1,2,3,4]}},{"b":{"payments":[5,6,1,2,3,4,0]}}]}
{"name":"random 5","members":[["m7",["t1"],"us-east-1b"],["m15",["t1"],"us-east-1b"],["m4",["t0","t1"],"us-east-1b"],["m0",["t0","t1"],"us-east-1b"],["m2",["t1"],"us-east-1a"]],"partitions":[["t0",0,"us-east-1a"],["t1",0,"us-east-1a"],["t0",1,null],["t1",1,"us-east-1b"],["t0",2,"us-east-1a"],["t1",2,"us-east-1b"],["t0",3,"us-east-1b"],["t1",3,"us-east-1b"],["t0",4,"us-east-1b"],["t1",4,null],["t0",5,"us-east-1b"],["t0",6,"us-east-1b"],["t0",7,"us-east-1b"],["t0",8,"us-east-1b"],["t0",9,null]],"range":{"m0":{"t0":[0,1,2,3,4],"t1":[0]},"m15":{"t1":[1]},"m2":{"t1":[2]},"m4":{"t0":[5,6,7,8,9],"t1":[3]},"m7":{"t1":[4]}},"roundrobin":{"m0":{"t0":[0,2,4,6,8],"t1":[0]},"m15":{"t1":[1]},"m2":{"t1":[2]},"m4":{"t0":[1,3,5,7,9],"t1":[3]},"m7":{"t1":[4]}},"rackAffinity":[{"m0":{"t0":[6,7,8,0,2],"t1":[4]},"m15":{"t1":[2]},"m2":{"t1":[0]},"m4":{"t0":[3,4,5,1,9],"t1":[3]},"m7":{"t1":[1]}},{"m0":{"t0":[6,7,8,1,9],"t1":[4]},"m15":{"t1":[2]},"m2":{"t1":[0]},"m4":{"t0":[3,4,5,0,2],"t1":[3]},"m7":{"t1":[1]}}]}
{"name":"random 6","members":[["t",["orders","payments"],"us-east-1c"],["v",["payments"],"us-east-1a"],["n",["payments"],"us-east-1a"],["w",["orders"],"us-east-1b"]],"partitions":[["orders",5,"us-east-1b"],["payments",10,null],["orders",1,"us-east-1c"],["payments",8,"us-east-1c"],["payments",11,"us-east-1a"],["payments",0,"us-east-1a"],["payments",4,"us-east-1c"],["payments",2,"us-east-1b"],["orders",3,"us-east-1c"],["payments",5,"us-east-1c"],["payments",3,"us-east-1a"],["payments",7,"us-east-1c"],["orders",2,"us-east-1b"],["orders",4,null],["payments",12,"us-east-1b"],["payments",1,"us-east-1b"],["payments",9,"us-east-1a"],["payments",6,"us-east-1c"],["orders",0,"us-east-1c"]],"range":{"n":{"payments":[10,8,11,0]},"t":{"orders":[5,1,3],"payments":[4,2,5,3]},"v":{"payments":[7,12,1,9,6]},"w":{"orders":[2,4,0]}},"roundrobin":{"n":{"payments":[10,0,5,12,6]},"t":{"orders":[5,3,4],"payments":[8,4,3,1]},"v":{"payments":[11,2,7,9]},"w":{"orders":[1,2,0]}},"rackAffinity":[{"n":{"payments":[3,9,1,10]},"t":{"orders":[1,3,0],"payments":[8,4,5,7,6]},"v":{"payments":[11,0,2,12]},"w":{"orders":[5,2,4]}},{"n":{"payments":[3,9,12,1]},"t":{"orders":[1,3,0],"payments":[8,4,5,7,6]},"v":{"payments":[11,0,10,2]},"w":{"orders":[5,2,4]}}]}
{"name":"random 7","members":[["c",["orders"],"us-east-1a"],["p",["orders"],"us-east-1b"]],"partitions":[["orders",0,"us-east-1a"],["orders",1,"us-east-1b"],["orders",2,"us-east-1a"],["orders",3,"us-east-1b"],["orders",4,"us-east-1b"],["orders",5,"us-east-1b"],["orders",6,"us-east-1a"],["other",0,"us-east-1b"],["other",1,null],["other",2,"us-east-1b"]],"range":{"c":{"orders":[0,1,2]},"p":{"orders":[3,4,5,6]}},"roundrobin":{"c":{"orders":[0,2,4,6]},"p":{"orders":[1,3,5]}},"rackAffinity":[{"c":{"orders":[0,2,6]},"p":{"orders":[1,3,4,5]}}]}
{"name":"random 8","members":[["y",["a"],"us-east-1c"]],"partitions":[["b",0,"us-east-1b"],["c",0,"us-east-1b"],["b",1,"us-east-1b"],["c",1,"us-east-1c"],["c",2,"us-east-1b"],["c",3,"us-east-1c"],["c",4,"us-east-1c"],["c",5,null],["c",6,"us-east-1c"],["c",7,"us-east-1b"],["c",8,"us-east-1c"],["c",9,"us-east-1a"],["c",10,"us-east-1c"],["c",11,"us-east-1a"],["c",12,"us-east-1b"]],"range":{"y":{}},"roundrobin":{"y":{}},"rackAffinity":[{"y":{}}]}
{"name":"random 9","members":[["consumer-1-fb1c9f6a",["orders"],"us-east-1a"]],"partitions":[["payments",0,"us-east-1b"],["payments",1,"us-east-1a"]],"range":{"consumer-1-fb1c9f6a":{}},"roundrobin":{"consumer-1-fb1c9f6a":{}},"rackAffinity":[{"consumer-1-fb1c9f6a":{}}]}
{"name":"random 10","members":[["m11",["a"],null]],"partitions":[["b",0,"us-east-1c"],["a",0,null],["b",1,"us-east-1a"],["a",1,"us-east-1b"],["b",2,null],["a",2,"us-east-1a"],["b",3,"us-east-1a"],["a",3,"us-east-1b"],["b",4,null],["a",4,"us-east-1a"],["b",5,"us-east-1c"],["a",5,"us-east-1c"],["b",6,"us-east-1b"],["a",6,null],["b",7,"us-east-1b"],["a",7,"us-east-1c"],["a",8,"us-east-1b"],["a",9,"us-east-1b"],["a",10,"us-east-1b"]],"range":{"m11":{"a":[0,1,2,3,4,5,6,7,8,9,10]}},"roundrobin":{"m11":{"a":[0,1,2,3,4,5,6,7,8,9,10]}},"rackAffinity":[{"m11":{"a":[0,6,1,3,8,9,10,2,4,5,7]}},{"m11":{"a":[0,6,2,4,5,7,1,3,8,9,10]}},{"m11":{"a":[0,6,5,7,1,3,8,9,10,2,4]}}]}
{"name":"random 11","members":[["m7",["t0"],"us-east-1a"],["m9",["t0"],"us-east-1a"],["m8",["t0"],"us-east-1a"],["m13",["t0"],"us-east-1a"],["m6",["t0"],"us-east-1a"]],"partitions":[["t0",0,"us-east-1a"],["t0",1,"us-east-1a"],["t0",2,"us-east-1a"],["t0",3,"us-east-1a"],["t0",4,"us-east-1a"],["t0",5,"us-east-1a"],["t0",6,"us-east-1a"],["t0",7,"us-east-1a"],["t0",8,null]],"range":{"m13":{"t0":[0]},"m6":{"t0":[1,2]},"m7":{"t0":[3,4]},"m8":{"t0":[5,6]},"m9":{"t0":[7,8]}},"roundrobin":{"m13":{"t0":[0,5]},"m6":{"t0":[1,6]},"m7":{"t0":[2,7]},"m8":{"t0":[3,8]},"m9":{"t0":[4]}},"rackAffinity":[{"m13":{"t0":[3,8]},"m6":{"t0":[4]},"m7":{"t0":[0,5]},"m8":{"t0":[2,7]},"m9":{"t0":[1,6]}}]}
{"name":"random 12","members":[["f",["a"],"us-east-1a"],["h",["c","b","a"],"us-east-1b"],["v",["c"],""]],"partitions":[["b",0,"us-east-1c"],["b",1,"us-east-1c"],["b",2,"us-east-1b"],["b",3,null],["a",0,"us-east-1c"],["a",1,""],["a",2,"us-east-1b"],["a",3,"us-east-1b"],["a",4,""],["a",5,null],["c",0,"us-east-1c"],["c",1,"us-east-1b"],["c",2,"us-east-1c"],["c",3,""],["c",4,"us-east-1b"],["c",5,""],["c",6,"us-east-1a"]],"range":{"f":{"a":[0,1,2]},"h":{"a":[3,4,5],"b":[0,1,2,3],"c":[0,1,2]},"v":{"c":[3,4,5,6]}},"roundrobin":{"f":{"a":[0,2,4]},"h":{"a":[1,3,5],"b":[0,1,2,3],"c":[0,2,4,6]},"v":{"c":[1,3,5]}},"rackAffinity":[{"f":{"a":[0,1,4]},"h":{"a":[2,3,5],"b":[2,0,1,3],"c":[1,4,0,2]},"v":{"c":[3,5,6]}},{"f":{"a":[0,1,4]},"h":{"a":[2,3,5],"b":[2,0,1,3],"c":[1,4,6,0]},"v":{"c":[3,5,2]}},{"f":{"a":[0,1,4]},"h":{"a":[2,3,5],"b":[2,3,0,1],"c":[1,4,0,2]},"v":{"c":[3,5,6]}},{"f":{"a":[0,1,4]},"h":{"a":[2,3,5],"b":[2,3,0,1],"c":[1,4,6,0]},"v":{"c":[3,5,2]}},{"f":{"a":[1,4,5]},"h":{"a":[2,3,0],"b":[2,0,1,3],"c":[1,4,0,2]},"v":{"c":[3,5,6]}},{"f":{"a":[1,4,5]},"h":{"a":[2,3,0],"b":[2,0,1,3],"c":[1,4,6,0]},"v":{"c":[3,5,2]}},{"f":{"a":[1,4,5]},"h":{"a":[2,3,0],"b":[2,3,0,1],"c":[1,4,0,2]},"v":{"c":[3,5,6]}},{"f":{"a":[1,4,5]},"h":{"a":[2,3,0],"b":[2,3,0,1],"c":[1,4,6,0]},"v":{"c":[3,5,2]}}]}
{"name":"random 13","members":[["consumer-11-675a85d6",["orders","payments","audit"],"us-east-1c"],["consumer-7-d7b2b3fe",["orders","payments","audit"],"us-east-1c"],["consumer-1-7fe95181",["audit","orders"],"us-east-1b"],["consumer-12-0b4736bb",["orders","payments","audit"],"us-east-1c"]],"partitions":[["orders",0,"us-east-1b"],["payments",0,"us-east-1a"],["orders",1,"us-east-1b"],["payments",1,"us-east-1c"],["orders",2,"us-east-1b"],["payments",2,"us-east-1b"],["orders",3,"us-east-1a"],["payments",3,"us-east-1a"],["orders",4,"us-east-1c"],["payments",4,"us-east-1b"],["orders",5,"us-east-1b"],["payments",5,"us-east-1a"],["orders",6,"us-east-1a"],["payments",6,"us-east-1a"],["orders",7,"us-east-1a"],["payments",7,"us-east-1a"],["orders",8,"us-east-1b"]],"range":{"consumer-1-7fe95181":{"orders":[0,1]},"consumer-11-675a85d6":{"orders":[2,3],"payments":[0,1]},"consumer-12-0b4736bb":{"orders":[4,5],"payments":[2,3,4]},"consumer-7-d7b2b3fe":{"orders":[6,7,8],"payments":[5,6,7]}},"roundrobin":{"consumer-1-7fe95181":{"orders":[0,4,8]},"consumer-11-675a85d6":{"orders":[1,5],"payments":[0,3,6]},"consumer-12-0b4736bb":{"orders":[2,6],"payments":[1,4,7]},"consumer-7-d7b2b3fe":{"orders":[3,7],"payments":[2,5]}},"rackAffinity":[{"consumer-1-7fe95181":{"orders":[0,1,2]},"consumer-11-675a85d6":{"orders":[4,3],"payments":[1,0,3]},"consumer-12-0b4736bb":{"orders":[5,8],"payments":[2,4]},"consumer-7-d7b2b3fe":{"orders":[6,7],"payments":[5,6,7]}},{"consumer-1-7fe95181":{"orders":[0,1,2]},"consumer-11-675a85d6":{"orders":[4,3],"payments":[1,2,4]},"consumer-12-0b4736bb":{"orders":[5,8],"payments":[6,7]},"consumer-7-d7b2b3fe":{"orders":[6,7],"payments":[0,3,5]}},{"consumer-1-7fe95181":{"orders":[0,1,2]},"consumer-11-675a85d6":{"orders":[4,5],"payments":[1,0,3]},"consumer-12-0b4736bb":{"orders":[6,7],"payments":[2,4]},"consumer-7-d7b2b3fe":{"orders":[8,3],"payments":[5,6,7]}},{"consumer-1-7fe95181":{"orders":[0,1,2]},"consumer-11-675a85d6":{"orders":[4,5],"payments":[1,2,4]},"consumer-12-0b4736bb":{"orders":[6,7],"payments":[6,7]},"consumer-7-d7b2b3fe":{"orders":[8,3],"payments":[0,3,5]}}]}
{"name":"random 14","members":[["consumer-8-4ca10e43",[],"us-east-1c"],["consumer-2-cf0f2bff",["orders"],null],["consumer-8-4a0d35a3",["orders"],"us-east-1c"]],"partitions":[["orders",0,"us-east-1a"],["orders",1,"us-east-1c"],["orders",2,null],["orders",3,"us-east-1b"],["orders",4,"us-east-1a"],["orders",5,"us-east-1c"],["orders",6,null],["orders",7,null],["orders",8,"us-east-1b"],["orders",9,"us-east-1c"]],"range":{"consumer-2-cf0f2bff":{"orders":[0,1,2,3,4]},"consumer-8-4a0d35a3":{"orders":[5,6,7,8,9]},"consumer-8-4ca10e43":{}},"roundrobin":{"consumer-2-cf0f2bff":{"orders":[0,2,4,6,8]},"consumer-8-4a0d35a3":{"orders":[1,3,5,7,9]},"consumer-8-4ca10e43":{}},"rackAffinity":[{"consumer-2-cf0f2bff":{"orders":[2,6,7,0,4]},"consumer-8-4a0d35a3":{"orders":[1,5,9,3,8]},"consumer-8-4ca10e43":{}},{"consumer-2-cf0f2bff":{"orders":[2,6,7,3,8]},"consumer-8-4a0d35a3":{"orders":[1,5,9,0,4]},"consumer-8-4ca10e43":{}}]}
{"name":"random 15","members":[["m3",["t0","t1"],"us-east-1a"],["m0",["t0"],"us-east-1a"]],"partitions":[["t0",0,"us-east-1a"],["t1",0,"us-east-1a"],["t0",1,"us-east-1a"],["t1",1,"us-east-1a"],["t0",2,"us-east-1a"],["t1",2,"us-east-1a"],["t0",3,"us-east-1a"],["t1",3,"us-east-1a"],["t0",4,"us-east-1a"],["t1",4,"us-east-1a"],["t0",5,"us-east-1a"],["t1",5,"us-east-1a"],["t0",6,"us-east-1a"],["t1",6,"us-east-1a"],["t0",7,"us-east-1a"],["t1",7,"us-east-1a"],["t0",8,"us-east-1a"]],"range":{"m0":{"t0":[0,1,2,3]},"m3":{"t0":[4,5,6,7,8],"t1":[0,1,2,3,4,5,6,7]}},"roundrobin":{"m0":{"t0":[0,2,4,6,8]},"m3":{"t0":[1,3,5,7],"t1":[0,1,2,3,4,5,6,7]}},"rackAffinity":[{"m0":{"t0":[4,5,6,7]},"m3":{"t0":[0,1,2,3,8],"t1":[0,1,2,3,4,5,6,7]}}]}
{"name":"random 16","members":[["g",["b","a","c"],"us-east-1a"],["v",["b","a","c"],"us-east-1a"],["e",["a"],"us-east-1a"]],"partitions":[["b",0,"us-east-1a"],["b",1,"us-east-1a"],["b",2,"us-east-1a"],["b",3,null],["b",4,"us-east-1a"],["b",5,"us-east-1a"],["b",6,"us-east-1a"],["a",0,"us-east-1a"]],"range":{"e":{},"g":{"b":[0,1,2]},"v":{"a":[0],"b":[3,4,5,6]}},"roundrobin":{"e":{"a":[0]},"g":{"b":[0,2,4,6]},"v":{"b":[1,3,5]}},"rackAffinity":[{"e":{},"g":{"a":[0],"b":[0,1,2,3]},"v":{"b":[4,5,6]}}]}
{"name":"random 17","members":[["m0",["c"],null]],"partitions":[["b",0,"us-east-1c"],["b",1,"us-east-1a"],["b",2,""],["b",3,"us-east-1a"],["b",4,"us-east-1c"],["b",5,"us-east-1a"],["a",0,"us-east-1c"],["a",1,"us-east-1a"],["a",2,"us-east-1c"],["a",3,"us-east-1c"],["a",4,""],["a",5,""],["a",6,"us-east-1a"],["a",7,""],["c",0,null],["c",1,""],["c",2,"us-east-1a"],["c",3,"us-east-1a"],["c",4,"us-east-1a"],["c",5,""],["c",6,""],["c",7,"us-east-1a"],["c",8,"us-east-1c"],["c",9,"us-east-1a"],["c",10,"us-east-1c"]],"range":{"m0":{"c":[0,1,2,3,4,5,6,7,8,9,10]}},"roundrobin":{"m0":{"c":[0,1,2,3,4,5,6,7,8,9,10]}},"rackAffinity":[{"m0":{"c":[0,1,5,6,2,3,4,7,9,8,10]}},{"m0":{"c":[0,1,5,6,8,10,2,3,4,7,9]}}]}
{"name":"random 18","members":[["m10",["t0"],null],["m12",["t0"],"us-east-1b"],["m8",["t0"],"us-east-1b"],["m19",["t0"],"us-east-1b"]],"partitions":[["t0",0,"us-east-1a"],["t0",1,"us-east-1a"],["t0",2,"us-east-1a"],["t0",3,"us-east-1a"],["t0",4,"us-east-1b"],["t0",5,"us-east-1b"],["t0",6,"us-east-1b"]],"range":{"m10":{"t0":[0]},"m12":{"t0":[1,2]},"m19":{"t0":[3,4]},"m8":{"t0":[5,6]}},"roundrobin":{"m10":{"t0":[0,4]},"m12":{"t0":[1,5]},"m19":{"t0":[2,6]},"m8":{"t0":[3]}},"rackAffinity":[{"m10":{"t0":[0,1]},"m12":{"t0":[4,2]},"m19":{"t0":[6]},"m8":{"t0":[5,3]}}]}
{"name":"random 19","members":[["m",["a","b"],"us-east-1a"],["i",["b","a"],null]],"partitions":[["a",1,"us-east-1a"],["a",5,"us-east-1a"],["a",0,"us-east-1a"],["b",7,"us-east-1a"],["a",3,"us-east-1a"],["b",3,null],["b",5,"us-east-1a"],["a",4,null],["a",2,null],["a",7,"us-east-1a"],["b",1,"us-east-1a"],["b",2,"us-east-1a"],["b",0,"us-east-1a"],["b",6,null],["a",6,"us-east-1a"],["b",4,"us-east-1a"]],"range":{"i":{"a":[1,5,0,3],"b":[7,3,5,1]},"m":{"a":[4,2,7,6],"b":[2,0,6,4]}},"roundrobin":{"i":{"a":[1,0,4,7],"b":[7,5,2,6]},"m":{"a":[5,3,2,6],"b":[3,1,0,4]}},"rackAffinity":[{"i":{"a":[4,2,7,6],"b":[3,6,0,4]},"m":{"a":[1,5,0,3],"b":[7,5,1,2]}}]}
{"name":"random 20","members":[["t",["b"],"us-east-1c"],["p",["b"],"us-east-1a"],["h",["b"],"us-east-1a"],["e",["b"],"us-east-1a"]],"partitions":[["b",0,"us-east-1c"],["b",1,"us-east-1b"],["b",2,"us-east-1c"],["b",3,"us-east-1b"],["b",4,"us-east-1c"],["b",5,"us-east-1b"],["b",6,"us-east-1b"]],"range":{"e":{"b":[0]},"h":{"b":[1,2]},"p":{"b":[3,4]},"t":{"b":[5,6]}},"roundrobin":{"e":{"b":[0,4]},"h":{"b":[1,5]},"p":{"b":[2,6]},"t":{"b":[3]}},"rackAffinity":[{"e":{"b":[4]},"h":{"b":[5,6]},"p":{"b":[1,3]},"t":{"b":[0,2]}},{"e":{"b":[6]},"h":{"b":[3,5]},"p":{"b":[4,1]},"t":{"b":[0,2]}}]}
{"name":"random 21","members":[["consumer-7-dffd80a2",["t0"],null]],"partitions":[["t0",0,"us-east-1a"]],"range":{"consumer-7-dffd80a2":{"t0":[0]}},"roundrobin":{"consumer-7-dffd80a2":{"t0":[0]}},"rackAffinity":[{"consumer-7-dffd80a2":{"t0":[0]}}]}
{"name":"random 22","members":[["consumer-10-82fbdf1f",["orders"],"us-east-1c"],["consumer-4-1a188152",["orders"],"us-east-1b"],["consumer-9-f7cc341d",["orders"],"us-east-1c"]],"partitions":[["orders",0,null],["orders",1,"us-east-1c"],["orders",2,"us-east-1b"],["orders",3,"us-east-1c"],["orders",4,"us-east-1a"],["orders",5,"us-east-1a"],["orders",6,null],["orders",7,"us-east-1b"],["orders",8,"us-east-1c"],["orders",9,"us-east-1b"],["orders",10,"us-east-1c"],["orders",11,"us-east-1b"],["orders",12,"us-east-1c"]],"range":{"consumer-10-82fbdf1f":{"orders":[0,1,2,3]},"consumer-4-1a188152":{"orders":[4,5,6,7]},"consumer-9-f7cc341d":{"orders":[8,9,10,11,12]}},"roundrobin":{"consumer-10-82fbdf1f":{"orders":[0,3,6,9,12]},"consumer-4-1a188152":{"orders":[1,4,7,10]},"consumer-9-f7cc341d":{"orders":[2,5,8,11]}},"rackAffinity":[{"consumer-10-82fbdf1f":{"orders":[1,3,12,0,6]},"consumer-4-1a188152":{"orders":[2,7,9,11]},"consumer-9-f7cc341d":{"orders":[8,10,4,5]}},{"consumer-10-82fbdf1f":{"orders":[1,3,12,4,5]},"consumer-4-1a188152":{"orders":[2,7,9,11]},"consumer-9-f7cc341d":{"orders":[8,10,0,6]}}]}
{"name":"random 23","members":[["consumer-1-4e9415c7",["t0"],"us-east-1a"],["consumer-6-e2d7cb84",["t0"],"us-east-1a"],["consumer-12-65ee1062",["t0"],"us-east-1a"],["consumer-10-b8cfe942",["t0"],"us-east-1b"]],"partitions":[["t0",7,"us-east-1b"],["t0",1,null],["t0",3,"us-east-1a"],["t0",9,"us-east-1b"],["t0",11,"us-east-1b"],["t0",5,"us-east-1a"],["t0",4,"us-east-1b"],["t0",10,"us-east-1a"],["t0",2,"us-east-1a"],["t0",8,"us-east-1b"],["t0",6,"us-east-1b"],["t0",0,"us-east-1b"]],"range":{"consumer-1-4e9415c7":{"t0":[7,1,3]},"consumer-10-b8cfe942":{"t0":[9,11,5]},"consumer-12-65ee1062":{"t0":[4,10,2]},"consumer-6-e2d7cb84":{"t0":[8,6,0]}},"roundrobin":{"consumer-1-4e9415c7":{"t0":[7,11,2]},"consumer-10-b8cfe942":{"t0":[1,5,8]},"consumer-12-65ee1062":{"t0":[3,4,6]},"consumer-6-e2d7cb84":{"t0":[9,10,0]}},"rackAffinity":[{"consumer-1-4e9415c7":{"t0":[3,2,1]},"consumer-10-b8cfe942":{"t0":[7,9,11]},"consumer-12-65ee1062":{"t0":[10,6,0]},"consumer-6-e2d7cb84":{"t0":[5,4,8]}},{"consumer-1-4e9415c7":{"t0":[3,2,4]},"consumer-10-b8cfe942":{"t0":[7,9,11]},"consumer-12-65ee1062":{"t0":[10,0,1]},"consumer-6-e2d7cb84":{"t0":[5,8,6]}}]}
{"name":"random 24","members":[["consumer-2-2c7415cc",["t1"],"us-east-1a"],["consumer-7-be4429b5",["t0","t1"],"us-east-1b"],["consumer-3-3ffc59f2",["t1"],null],["consumer-12-06b14f3f",["t0","t1"],"us-east-1a"],["consumer-11-c07c8cb5",["t0","t1"],"us-east-1b"]],"partitions":[["t0",0,"us-east-1a"],["t0",1,"us-east-1a"],["t0",2,"us-east-1b"],["t0",3,"us-east-1b"],["t0",4,"us-east-1a"],["t0",5,"us-east-1b"],["t0",6,"us-east-1a"],["t1",0,"us-east-1a"],["t1",1,"us-east-1a"],["t1",2,"us-east-1b"],["t1",3,"us-east-1b"],["t1",4,"us-east-1b"],["t1",5,"us-east-1a"],["t1",6,"us-east-1a"],["t1",7,"us-east-1a"]],"range":{"consumer-11-c07c8cb5":{"t0":[0,1],"t1":[0]},"consumer-12-06b14f3f":{"t0":[2,3],"t1":[1,2]},"consumer-2-2c7415cc":{"t1":[3]},"consumer-3-3ffc59f2":{"t1":[4,5]},"consumer-7-be4429b5":{"t0":[4,5,6],"t1":[6,7]}},"roundrobin":{"consumer-11-c07c8cb5":{"t0":[0,3,6],"t1":[0,5]},"consumer-12-06b14f3f":{"t0":[1,4],"t1":[1,6]},"consumer-2-2c7415cc":{"t1":[2,7]},"consumer-3-3ffc59f2":{"t1":[3]},"consumer-7-be4429b5":{"t0":[2,5],"t1":[4]}},"rackAffinity":[{"consumer-11-c07c8cb5":{"t0":[3,6],"t1":[3]},"consumer-12-06b14f3f":{"t0":[0,1,4],"t1":[1,6]},"consumer-2-2c7415cc":{"t1":[0,5]},"consumer-3-3ffc59f2":{"t1":[7]},"consumer-7-be4429b5":{"t0":[2,5],"t1":[2,4]}}]}
{"name":"random 25","members":[["m2",["payments","audit"],"us-east-1b"],["m0",["audit","payments"],"us-east-1b"],["m13",["orders","payments","audit"],null],["m18",["audit"],"us-east-1b"],["m12",["orders"],"us-east-1b"]],"partitions":[["payments",0,"us-east-1a"],["payments",1,"us-east-1b"],["payments",2,"us-east-1c"],["payments",3,"us-east-1a"],["payments",4,"us-east-1c"],["audit",0,null],["audit",1,"us-east-1b"],["audit",2,"us-east-1a"],["audit",3,"us-east-1a"],["audit",4,"us-east-1c"],["audit",5,null],["audit",6,null]],"range":{"m0":{"audit":[0],"payments":[0]},"m12":{},"m13":{"audit":[1,2],"payments":[1,2]},"m18":{"audit":[3,4]},"m2":{"audit":[5,6],"payments":[3,4]}},"roundrobin":{"m0":{"audit":[0,4],"payments":[0,3]},"m12":{},"m13":{"audit":[1,5],"payments":[1,4]},"m18":{"audit":[2,6]},"m2":{"audit":[3],"payments":[2]}},"rackAffinity":[{"m0":{"audit":[2,3],"payments":[3,2]},"m12":{},"m13":{"audit":[0,5],"payments":[4]},"m18":{"audit":[4]},"m2":{"audit":[1,6],"payments":[1,0]}},{"m0":{"audit":[2,3],"payments":[4,0]},"m12":{},"m13":{"audit":[0,5],"payments":[3]},"m18":{"audit":[4]},"m2":{"audit":[1,6],"payments":[1,2]}},{"m0":{"audit":[3,4],"payments":[3,2]},"m12":{},"m13":{"audit":[0,5],"payments":[4]},"m18":{"audit":[6]},"m2":{"audit":[1,2],"payments":[1,0]}},{"m0":{"audit":[3,4],"payments":[4,0]},"m12":{},"m13":{"audit":[0,5],"payments":[3]},"m18":{"audit":[6]},"m2":{"audit":[1,2],"payments":[1,2]}},{"m0":{"audit":[6,2],"payments":[3,2]},"m12":{},"m13":{"audit":[0,5],"payments":[4]},"m18":{"audit":[3]},"m2":{"audit":[1,4],"payments":[1,0]}},{"m0":{"audit":[6,2],"payments":[4,0]},"m12":{},"m13":{"audit":[0,5],"payments":[3]},"m18":{"audit":[3]},"m2":{"audit":[1,4],"payments":[1,2]}}]}
{"name":"random 26","members":[["k",["payments","orders"],"us-east-1a"],["q",["orders","payments"],"us-east-1a"],["x",["orders"],"us-east-1a"],["b",["orders"],"us-east-1a"]],"partitions":[["orders",0,"us-east-1a"],["payments",0,"us-east-1a"],["orders",1,"us-east-1a"],["payments",1,"us-east-1a"],["orders",2,"us-east-1a"],["payments",2,"us-east-1a"],["orders",3,null]],"range":{"b":{"orders":[0]},"k":{"orders":[1],"payments":[0]},"q":{"orders":[2],"payments":[1,2]},"x":{"orders":[3]}},"roundrobin":{"b":{"orders":[0]},"k":{"orders":[1],"payments":[0,2]},"q":{"orders":[2],"payments":[1]},"x":{"orders":[3]}},"rackAffinity":[{"b":{"orders":[3]},"k":{"orders":[0],"payments":[0,2]},"q":{"orders":[1],"payments":[1]},"x":{"orders":[2]}}]}
{"name":"random 27","members":[["j",["payments"],""],["d",[],null],["a",["orders","payments"],""],["x",["orders"],null],["i",["payments"],"us-east-1b"]],"partitions":[["orders",0,""],["orders",1,"us-east-1c"],["orders",2,null],["orders",3,"us-east-1a"],["orders",4,""],["orders",5,"us-east-1a"],["orders",6,null],["orders",7,""],["orders",8,""],["payments",0,null],["payments",1,"us-east-1b"],["payments",2,null],["payments",3,"us-east-1a"],["other",0,""]],"range":{"a":{"orders":[0,1,2,3],"payments":[0]},"d":{},"i":{"payments":[1]},"j":{"payments":[2,3]},"x":{"orders":[4,5,6,7,8]}},"roundrobin":{"a":{"orders":[0,2,4,6,8],"payments":[0,3]},"d":{},"i":{"payments":[1]},"j":{"payments":[2]},"x":{"orders":[1,3,5,7]}},"rackAffinity":[{"a":{"orders":[0,2,4,1,3],"payments":[2]},"d":{},"i":{"payments":[1]},"j":{"payments":[0,3]},"x":{"orders":[6,7,8,5]}},{"a":{"orders":[0,2,4,3,5],"payments":[2]},"d":{},"i":{"payments":[1]},"j":{"payments":[0,3]},"x":{"orders":[6,7,8,1]}}]}
{"name":"random 28","members":[["consumer-10-330b5475",["b","a"],"us-east-1a"],["consumer-9-3ae814b3",["a"],"us-east-1c"],["consumer-5-c5bfb17d",["a"],"us-east-1a"],["consumer-12-3b17bff4",["a"],"us-east-1c"],["consumer-9-8ae8a13d",["b","a"],"us-east-1c"]],"partitions":[["b",0,"us-east-1b"],["b",1,"us-east-1b"],["b",2,"us-east-1b"],["b",3,"us-east-1b"],["b",4,"us-east-1b"],["b",5,"us-east-1c"],["b",6,"us-east-1c"],["b",7,null],["a",0,"us-east-1b"],["a",1,"us-east-1c"],["a",2,"us-east-1c"],["a",3,"us-east-1a"],["a",4,"us-east-1b"],["a",5,"us-east-1c"],["a",6,"us-east-1b"],["a",7,"us-east-1c"],["a",8,"us-east-1a"],["a",9,"us-east-1c"]],"range":{"consumer-10-330b5475":{"a":[0,1],"b":[0,1,2,3]},"consumer-12-3b17bff4":{"a":[2,3]},"consumer-5-c5bfb17d":{"a":[4,5]},"consumer-9-3ae814b3":{"a":[6,7]},"consumer-9-8ae8a13d":{"a":[8,9],"b":[4,5,6,7]}},"roundrobin":{"consumer-10-330b5475":{"a":[0,5],"b":[0,2,4,6]},"consumer-12-3b17bff4":{"a":[1,6]},"consumer-5-c5bfb17d":{"a":[2,7]},"consumer-9-3ae814b3":{"a":[3,8]},"consumer-9-8ae8a13d":{"a":[4,9],"b":[1,3,5,7]}},"rackAffinity":[{"consumer-10-330b5475":{"a":[3,0],"b":[0,1,2,3]},"consumer-12-3b17bff4":{"a":[2,9]},"consumer-5-c5bfb17d":{"a":[8,4]},"consumer-9-3ae814b3":{"a":[1,7]},"consumer-9-8ae8a13d":{"a":[5,6],"b":[5,6,4,7]}},{"consumer-10-330b5475":{"a":[3,0],"b":[7,0,1,2]},"consumer-12-3b17bff4":{"a":[2,9]},"consumer-5-c5bfb17d":{"a":[8,4]},"consumer-9-3ae814b3":{"a":[1,7]},"consumer-9-8ae8a13d":{"a":[5,6],"b":[5,6,3,4]}}]}
{"name":"random 29","members":[["x",["b"],"us-east-1a"],["r",["b"],"us-east-1a"],["l",["b"],""],["w",["b"],""],["e",[],"us-east-1c"]],"partitions":[["b",0,""],["b",1,"us-east-1a"],["b",2,null],["b",3,"us-east-1c"],["b",4,"us-east-1c"],["b",5,"us-east-1c"],["b",6,"us-east-1c"],["b",7,null],["b",8,"us-east-1b"],["b",9,"us-east-1b"],["other",0,"us-east-1c"],["other",1,"us-east-1c"],["other",2,""]],"range":{"e":{},"l":{"b":[0,1]},"r":{"b":[2,3,4]},"w":{"b":[5,6]},"x":{"b":[7,8,9]}},"roundrobin":{"e":{},"l":{"b":[0,4,8]},"r":{"b":[1,5,9]},"w":{"b":[2,6]},"x":{"b":[3,7]}},"rackAffinity":[{"e":{},"l":{"b":[0,7]},"r":{"b":[3,4,5]},"w":{"b":[2,6]},"x":{"b":[1,8,9]}},{"e":{},"l":{"b":[0,7]},"r":{"b":[5,6,8]},"w":{"b":[2,9]},"x":{"b":[1,3,4]}}]}
{"name":"random 30","members":[["m13",["b"],"us-east-1a"],["m16",["b"],null],["m15",["b"],"us-east-1b"]],"partitions":[["b",0,"us-east-1a"]],"range":{"m13":{},"m15":{},"m16":{"b":[0]}},"roundrobin":{"m13":{"b":[0]},"m15":{},"m16":{}},"rackAffinity":[{"m13":{"b":[0]},"m15":{},"m16":{}}]}
{"name":"random 31","members":[["consumer-12-bc0dfc05",["t0"],"us-east-1a"]],"partitions":[["t0",0,null],["t0",1,"us-east-1a"],["t0",2,"us-east-1a"],["t0",3,"us-east-1a"],["t0",4,"us-east-1a"]],"range":{"consumer-12-bc0dfc05":{"t0":[0,1,2,3,4]}},"roundrobin":{"consumer-12-bc0dfc05":{"t0":[0,1,2,3,4]}},"rackAffinity":[{"consumer-12-bc0dfc05":{"t0":[1,2,3,4,0]}}]}
{"name":"random 32","members":[["consumer-3-bd2e1561",["b"],"us-east-1b"],["consumer-4-88567f4d",["b"],"us-east-1b"],["consumer-12-bd0abe4a",["b"],"us-east-1a"],["consumer-2-317d9f3e",["b"],"us-east-1a"]],"partitions":[["b",10,"us-east-1b"],["b",8,"us-east-1b"],["b",11,"us-east-1b"],["b",2,"us-east-1b"],["b",6,"us-east-1a"],["b",9,"us-east-1a"],["b",0,"us-east-1a"],["b",12,"us-east-1b"],["b",1,null],["b",7,"us-east-1a"],["b",4,null],["b",5,"us-east-1a"],["b",3,"us-east-1b"]],"range":{"consumer-12-bd0abe4a":{"b":[10,8,11]},"consumer-2-317d9f3e":{"b":[2,6,9]},"consumer-3-bd2e1561":{"b":[0,12,1]},"consumer-4-88567f4d":{"b":[7,4,5,3]}},"roundrobin":{"consumer-12-bd0abe4a":{"b":[10,6,1,3]},"consumer-2-317d9f3e":{"b":[8,9,7]},"consumer-3-bd2e1561":{"b":[11,0,4]},"consumer-4-88567f4d":{"b":[2,12,5]}},"rackAffinity":[{"consumer-12-bd0abe4a":{"b":[6,9,5]},"consumer-2-317d9f3e":{"b":[0,7,4]},"consumer-3-bd2e1561":{"b":[10,8,11,1]},"consumer-4-88567f4d":{"b":[2,12,3]}}]}
{"name":"random 33","members":[["y",["a"],"us-east-1b"],["n",["a"],"us-east-1a"],["u",[],"us-east-1c"],["w",["a"],"us-east-1c"]],"partitions":[["b",0,"us-east-1c"],["b",1,null],["b",2,"us-east-1b"],["b",3,"us-east-1c"],["b",4,null],["b",5,"us-east-1b"],["b",6,"us-east-1b"],["b",7,"us-east-1c"],["b",8,"us-east-1b"],["a",0,"us-east-1b"],["a",1,null],["other",0,"us-east-1a"],["other",1,null]],"range":{"n":{},"u":{},"w":{"a":[0]},"y":{"a":[1]}},"roundrobin":{"n":{"a":[0]},"u":{},"w":{"a":[1]},"y":{}},"rackAffinity":[{"n":{"a":[1]},"u":{},"w":{},"y":{"a":[0]}}]}
{"name":"random 34","members":[["o",["a","b"],"us-east-1a"],["h",["b","a","c"],"us-east-1a"],["g",["c","a","b"],"us-east-1a"],["f",["c","a"],"us-east-1b"],["w",["a"],"us-east-1a"]],"partitions":[["b",0,null],["b",1,null],["b",2,"us-east-1b"],["b",3,"us-east-1a"],["b",4,"us-east-1a"],["b",5,"us-east-1a"],["b",6,"us-east-1a"],["b",7,null],["b",8,"us-east-1a"],["a",0,"us-east-1a"],["c",0,"us-east-1b"],["c",1,"us-east-1b"]],"range":{"f":{},"g":{"b":[0,1,2],"c":[0]},"h":{"b":[3,4,5],"c":[1]},"o":{"b":[6,7,8]},"w":{"a":[0]}},"roundrobin":{"f":{"a":[0],"c":[0]},"g":{"b":[0,3,6],"c":[1]},"h":{"b":[1,4,7]},"o":{"b":[2,5,8]},"w":{}},"rackAffinity":[{"f":{"c":[0]},"g":{"b":[5,1,7]},"h":{"b":[4,8,0],"c":[1]},"o":{"a":[0],"b":[3,6,2]},"w":{}},{"f":{"c":[0]},"g":{"b":[5,7,2]},"h":{"b":[4,8,1],"c":[1]},"o":{"a":[0],"b":[3,6,0]},"w":{}}]}
{"name":"random 35","members":[["consumer-7-88da83f0",["t0"],"us-east-1c"],["consumer-2-3296f8d0",["t0"],"us-east-1a"],["consumer-4-447a6010",["t0"],"us-east-1c"],["consumer-1-cd6eae1e",["t0"],null]],"partitions":[["t0",0,"us-east-1b"],["t0",1,"us-east-1c"],["t0",2,"us-east-1b"],["t0",3,"us-east-1a"]],"range":{"consumer-1-cd6eae1e":{"t0":[0]},"consumer-2-3296f8d0":{"t0":[1]},"consumer-4-447a6010":{"t0":[2]},"consumer-7-88da83f0":{"t0":[3]}},"roundrobin":{"consumer-1-cd6eae1e":{"t0":[0]},"consumer-2-3296f8d0":{"t0":[1]},"consumer-4-447a6010":{"t0":[2]},"consumer-7-88da83f0":{"t0":[3]}},"rackAffinity":[{"consumer-1-cd6eae1e":{"t0":[2]},"consumer-2-3296f8d0":{"t0":[3]},"consumer-4-447a6010":{"t0":[0]},"consumer-7-88da83f0":{"t0":[1]}}]}
{"name":"random 36","members":[["m16",["b"],"us-east-1a"]],"partitions":[["b",0,"us-east-1b"],["b",1,"us-east-1a"],["b",2,"us-east-1c"],["b",3,"us-east-1c"],["b",4,"us-east-1a"],["b",5,"us-east-1a"]],"range":{"m16":{"b":[0,1,2,3,4,5]}},"roundrobin":{"m16":{"b":[0,1,2,3,4,5]}},"rackAffinity":[{"m16":{"b":[1,4,5,0,2,3]}},{"m16":{"b":[1,4,5,2,3,0]}}]}
{"name":"random 37","members":[["m4",["t0","t1"],"us-east-1c"],["m18",["t0","t1"],null],["m2",["t0","t1"],"us-east-1a"],["m14",["t0"],"us-east-1b"]],"partitions":[["t0",0,"us-east-1b"],["t1",0,"us-east-1a"],["t0",1,"us-east-1a"],["t0",2,"us-east-1b"],["t0",3,"us-east-1c"],["t0",4,"us-east-1a"],["t0",5,"us-east-1a"],["t0",6,"us-east-1b"],["t0",7,"us-east-1b"],["t0",8,"us-east-1b"],["t0",9,"us-east-1c"]],"range":{"m14":{"t0":[0,1]},"m18":{"t0":[2,3,4]},"m2":{"t0":[5,6]},"m4":{"t0":[7,8,9],"t1":[0]}},"roundrobin":{"m14":{"t0":[0,4,8]},"m18":{"t0":[1,5,9],"t1":[0]},"m2":{"t0":[2,6]},"m4":{"t0":[3,7]}},"rackAffinity":[{"m14":{"t0":[0,2,6]},"m18":{"t0":[7,8]},"m2":{"t0":[1,4,5],"t1":[0]},"m4":{"t0":[3,9]}}]}
{"name":"random 38","members":[["y",["payments","orders"],null],["o",["orders"],null]],"partitions":[["orders",0,"us-east-1c"],["payments",0,""],["orders",1,"us-east-1a"],["payments",1,null],["orders",2,"us-east-1c"],["payments",2,"us-east-1b"],["payments",3,""],["payments",4,"us-east-1c"],["payments",5,""],["payments",6,"us-east-1c"],["payments",7,"us-east-1c"],["payments",8,"us-east-1c"],["payments",9,""],["payments",10,"us-east-1c"],["payments",11,"us-east-1c"],["payments",12,""]],"range":{"o":{"orders":[0]},"y":{"orders":[1,2],"payments":[0,1,2,3,4,5,6,7,8,9,10,11,12]}},"roundrobin":{"o":{"orders":[0,2]},"y":{"orders":[1],"payments":[0,1,2,3,4,5,6,7,8,9,10,11,12]}},"rackAffinity":[{"o":{"orders":[1]},"y":{"orders":[0,2],"payments":[0,1,3,5,9,12,2,4,6,7,8,10,11]}},{"o":{"orders":[1]},"y":{"orders":[0,2],"payments":[0,1,3,5,9,12,4,6,7,8,10,11,2]}},{"o":{"orders":[2]},"y":{"orders":[1,0],"payments":[0,1,3,5,9,12,2,4,6,7,8,10,11]}},{"o":{"orders":[2]},"y":{"orders":[1,0],"payments":[0,1,3,5,9,12,4,6,7,8,10,11,2]}}]}
{"name":"random 39","members":[["m12",["t0","t1","t2"],"us-east-1a"],["m9",["t1","t0"],"us-east-1b"],["m1",["t2","t1"],"us-east-1a"],["m3",["t0","t1","t2"],"us-east-1a"],["m17",["t1","t2","t0"],"us-east-1c"]],"partitions":[["t1",0,"us-east-1c"],["t1",1,"us-east-1b"],["t1",2,"us-east-1b"],["t1",3,"us-east-1b"],["t1",4,"us-east-1a"],["t1",5,"us-east-1b"],["t1",6,"us-east-1c"],["t1",7,"us-east-1a"],["t1",8,"us-east-1c"],["t2",0,"us-east-1b"],["t2",1,"us-east-1a"],["t2",2,null],["t2",3,"us-east-1a"],["t2",4,"us-east-1a"],["t2",5,"us-east-1c"]],"range":{"m1":{"t1":[0],"t2":[0]},"m12":{"t1":[1,2],"t2":[1,2]},"m17":{"t1":[3,4],"t2":[3]},"m3":{"t1":[5,6],"t2":[4,5]},"m9":{"t1":[7,8]}},"roundrobin":{"m1":{"t1":[0,5],"t2":[0,4]},"m12":{"t1":[1,6],"t2":[1,5]},"m17":{"t1":[2,7],"t2":[2]},"m3":{"t1":[3,8],"t2":[3]},"m9":{"t1":[4]}},"rackAffinity":[{"m1":{"t1":[7,3],"t2":[3,0]},"m12":{"t1":[4,8],"t2":[1,2]},"m17":{"t1":[0,6],"t2":[5]},"m3":{"t1":[5],"t2":[4]},"m9":{"t1":[1,2]}},{"m1":{"t1":[7,3],"t2":[3,2]},"m12":{"t1":[4,8],"t2":[1,0]},"m17":{"t1":[0,6],"t2":[5]},"m3":{"t1":[5],"t2":[4]},"m9":{"t1":[1,2]}},{"m1":{"t1":[7,5],"t2":[3,0]},"m12":{"t1":[4,3],"t2":[1,2]},"m17":{"t1":[0,6],"t2":[5]},"m3":{"t1":[8],"t2":[4]},"m9":{"t1":[1,2]}},{"m1":{"t1":[7,5],"t2":[3,2]},"m12":{"t1":[4,3],"t2":[1,0]},"m17":{"t1":[0,6],"t2":[5]},"m3":{"t1":[8],"t2":[4]},"m9":{"t1":[1,2]}}]}
{"name":"random 40","members":[["a",["orders","payments","audit"],""],["j",["audit"],"us-east-1b"],["i",["orders","payments"],null],["w",["audit","orders","payments"],null],["k",["orders","payments","audit"],"us-east-1b"]],"partitions":[["orders",0,"us-east-1a"],["audit",0,null],["orders",1,"us-east-1c"],["audit",1,"us-east-1b"]],"range":{"a":{},"i":{"orders":[0]},"j":{"audit":[0]},"k":{},"w":{"audit":[1],"orders":[1]}},"roundrobin":{"a":{"audit":[0],"orders":[0]},"i":{"orders":[1]},"j":{"audit":[1]},"k":{},"w":{}},"rackAffinity":[{"a":{"audit":[0],"orders":[0]},"i":{"orders":[1]},"j":{"audit":[1]},"k":{},"w":{}},{"a":{"audit":[0],"orders":[1]},"i":{"orders":[0]},"j":{"audit":[1]},"k":{},"w":{}}]}
{"name":"random 41","members":[["consumer-6-34f56e1d",["t0"],"us-east-1a"]],"partitions":[["t0",0,"us-east-1a"],["t0",1,"us-east-1a"],["t0",2,"us-east-1a"],["t1",0,null],["t1",1,"us-east-1a"],["t1",2,"us-east-1a"],["t1",3,"us-east-1a"],["t1",4,"us-east-1a"],["t2",0,"us-east-1a"],["other",0,"us-east-1a"]],"range":{"consumer-6-34f56e1d":{"t0":[0,1,2]}},"roundrobin":{"consumer-6-34f56e1d":{"t0":[0,1,2]}},"rackAffinity":[{"consumer-6-34f56e1d":{"t0":[0,1,2]}}]}
{"name":"random 42","members":[["m11",["orders"],"us-east-1b"],["m9",["payments"],"us-east-1b"],["m1",["orders","payments"],"us-east-1a"],["m7",["orders"],"us-east-1a"],["m18",["orders"],"us-east-1a"]],"partitions":[["orders",0,"us-east-1b"],["payments",0,"us-east-1a"],["orders",1,"us-east-1b"],["payments",1,"us-east-1a"],["orders",2,null],["payments",2,"us-east-1b"],["orders",3,"us-east-1b"],["payments",3,"us-east-1a"],["orders",4,null],["payments",4,"us-east-1b"],["orders",5,"us-east-1a"],["payments",5,"us-east-1a"],["orders",6,"us-east-1b"],["payments",6,"us-east-1b"],["orders",7,"us-east-1b"],["payments",7,null],["orders",8,null],["payments",8,"us-east-1a"],["orders",9,null],["payments",9,"us-east-1a"],["payments",10,"us-east-1b"],["payments",11,"us-east-1a"],["payments",12,"us-east-1a"]],"range":{"m1":{"orders":[0,1],"payments":[0,1,2,3,4,5]},"m11":{"orders":[2,3,4]},"m18":{"orders":[5,6]},"m7":{"orders":[7,8,9]},"m9":{"payments":[6,7,8,9,10,11,12]}},"roundrobin":{"m1":{"orders":[0,4,8],"payments":[0,2,4,6,8,10,12]},"m11":{"orders":[1,5,9]},"m18":{"orders":[2,6]},"m7":{"orders":[3,7]},"m9":{"payments":[1,3,5,7,9,11]}},"rackAffinity":[{"m1":{"orders":[5,2,4],"payments":[0,1,3,5,8,9,11]},"m11":{"orders":[0,1,3]},"m18":{"orders":[6,7]},"m7":{"orders":[8,9]},"m9":{"payments":[2,4,6,10,12,7]}},{"m1":{"orders":[5,2,4],"payments":[0,1,3,5,8,9,11]},"m11":{"orders":[0,1,3]},"m18":{"orders":[6,7]},"m7":{"orders":[8,9]},"m9":{"payments":[2,4,6,10,7,12]}},{"m1":{"orders":[5,6,7],"payments":[0,1,3,5,8,9,11]},"m11":{"orders":[0,1,3]},"m18":{"orders":[8,9]},"m7":{"orders":[2,4]},"m9":{"payments":[2,4,6,10,12,7]}},{"m1":{"orders":[5,6,7],"payments":[0,1,3,5,8,9,11]},"m11":{"orders":[0,1,3]},"m18":{"orders":[8,9]},"m7":{"orders":[2,4]},"m9":{"payments":[2,4,6,10,7,12]}}]}
{"name":"random 43","members":[["consumer-7-4697d966",["audit"],"us-east-1b"],["consumer-12-f0d97065",["orders"],"us-east-1b"],["consumer-9-c58aad42",["orders","payments","audit"],"us-east-1b"],["consumer-4-acfcede4",["audit"],"us-east-1a"],["consumer-11-7a30f295",["orders","payments","audit"],"us-east-1b"]],"partitions":[["payments",7,"us-east-1a"],["payments",1,"us-east-1b"],["audit",6,"us-east-1b"],["audit",2,"us-east-1a"],["payments",4,null],["payments",5,"us-east-1a"],["orders",4,"us-east-1a"],["orders",7,"us-east-1b"],["audit",8,"us-east-1b"],["orders",2,null],["audit",5,"us-east-1a"],["audit",1,"us-east-1b"],["audit",4,"us-east-1b"],["orders",8,"us-east-1b"],["orders",1,null],["orders",9,null],["orders",3,"us-east-1b"],["audit",9,"us-east-1b"],["payments",6,"us-east-1b"],["payments",3,"us-east-1b"],["orders",5,"us-east-1a"],["orders",6,"us-east-1b"],["audit",0,"us-east-1b"],["audit",7,"us-east-1b"],["payments",0,"us-east-1a"],["audit",3,"us-east-1a"],["orders",0,"us-east-1a"],["payments",2,"us-east-1a"]],"range":{"consumer-11-7a30f295":{"audit":[6,2],"orders":[4,7,2],"payments":[7,1,4,5]},"consumer-12-f0d97065":{"orders":[8,1,9]},"consumer-4-acfcede4":{"audit":[8,5,1]},"consumer-7-4697d966":{"audit":[4,9]},"consumer-9-c58aad42":{"audit":[0,7,3],"orders":[3,5,6,0],"payments":[6,3,0,2]}},"roundrobin":{"consumer-11-7a30f295":{"audit":[6,1,7],"orders":[4,8,3,0],"payments":[7,4,6,0]},"consumer-12-f0d97065":{"orders":[7,1,5]},"consumer-4-acfcede4":{"audit":[2,4,3]},"consumer-7-4697d966":{"audit":[8,9]},"consumer-9-c58aad42":{"audit":[5,0],"orders":[2,9,6],"payments":[1,5,3,2]}},"rackAffinity":[{"consumer-11-7a30f295":{"audit":[9,0],"orders":[3,1,9],"payments":[6,0,2,4]},"consumer-12-f0d97065":{"orders":[7,6,4,5]},"consumer-4-acfcede4":{"audit":[2,5,3]},"consumer-7-4697d966":{"audit":[6,8,7]},"consumer-9-c58aad42":{"audit":[1,4],"orders":[8,0,2],"payments":[1,3,7,5]}},{"consumer-11-7a30f295":{"audit":[9,0],"orders":[3,1,9],"payments":[6,5,0,2]},"consumer-12-f0d97065":{"orders":[7,6,4,5]},"consumer-4-acfcede4":{"audit":[2,5,3]},"consumer-7-4697d966":{"audit":[6,8,7]},"consumer-9-c58aad42":{"audit":[1,4],"orders":[8,0,2],"payments":[1,3,4,7]}},{"consumer-11-7a30f295":{"audit":[9,0],"orders":[3,5,0],"payments":[6,0,2,4]},"consumer-12-f0d97065":{"orders":[7,6,2,1]},"consumer-4-acfcede4":{"audit":[2,5,3]},"consumer-7-4697d966":{"audit":[6,8,7]},"consumer-9-c58aad42":{"audit":[1,4],"orders":[8,9,4],"payments":[1,3,7,5]}},{"consumer-11-7a30f295":{"audit":[9,0],"orders":[3,5,0],"payments":[6,5,0,2]},"consumer-12-f0d97065":{"orders":[7,6,2,1]},"consumer-4-acfcede4":{"audit":[2,5,3]},"consumer-7-4697d966":{"audit":[6,8,7]},"consumer-9-c58aad42":{"audit":[1,4],"orders":[8,9,4],"payments":[1,3,4,7]}}]}
{"name":"random 44","members":[["consumer-1-e729d98f",["b"],"us-east-1c"],["consumer-2-ecced9b2",["b","a"],"us-east-1a"],["consumer-10-180401c8",["b","a"],"us-east-1b"]],"partitions":[["b",0,"us-east-1b"],["a",8,"us-east-1c"],["a",5,""],["b",1,null],["a",2,"us-east-1a"],["a",3,"us-east-1b"],["b",2,"us-east-1c"],["a",1,""],["a",0,"us-east-1c"],["a",4,"us-east-1c"],["a",6,"us-east-1a"],["a",7,null]],"range":{"consumer-1-e729d98f":{"b":[0]},"consumer-10-180401c8":{"a":[8,5,2,3],"b":[1]},"consumer-2-ecced9b2":{"a":[1,0,4,6,7],"b":[2]}},"roundrobin":{"consumer-1-e729d98f":{"b":[0]},"consumer-10-180401c8":{"a":[8,2,1,4,7],"b":[1]},"consumer-2-ecced9b2":{"a":[5,3,0,6],"b":[2]}},"rackAffinity":[{"consumer-1-e729d98f":{"b":[2]},"consumer-10-180401c8":{"a":[3,5,1,7],"b":[0]},"consumer-2-ecced9b2":{"a":[2,6,8,0,4],"b":[1]}},{"consumer-1-e729d98f":{"b":[2]},"consumer-10-180401c8":{"a":[3,8,0,4],"b":[0]},"consumer-2-ecced9b2":{"a":[2,6,5,1,7],"b":[1]}}]}
{"name":"random 45","members":[["consumer-9-8d03da6c",["b"],"us-east-1b"],["consumer-7-fa3c91a3",[],"us-east-1c"],["consumer-4-b17b1ccb",["b"],"us-east-1c"]],"partitions":[["b",0,null],["b",1,""],["b",2,"us-east-1c"],["b",3,"us-east-1a"],["b",4,"us-east-1b"],["b",5,"us-east-1a"],["other",0,""]],"range":{"consumer-4-b17b1ccb":{"b":[0,1,2]},"consumer-7-fa3c91a3":{},"consumer-9-8d03da6c":{"b":[3,4,5]}},"roundrobin":{"consumer-4-b17b1ccb":{"b":[0,2,4]},"consumer-7-fa3c91a3":{},"consumer-9-8d03da6c":{"b":[1,3,5]}},"rackAffinity":[{"consumer-4-b17b1ccb":{"b":[2,0,1]},"consumer-7-fa3c91a3":{},"consumer-9-8d03da6c":{"b":[4,3,5]}},{"consumer-4-b17b1ccb":{"b":[2,3,5]},"consumer-7-fa3c91a3":{},"consumer-9-8d03da6c":{"b":[4,0,1]}}]}
{"name":"random 46","members":[["consumer-1-e4f4a31e",["audit","payments"],"us-east-1b"]],"partitions":[["orders",0,null],["payments",0,"us-east-1a"],["audit",0,"us-east-1a"],["payments",1,"us-east-1a"],["audit",1,"us-east-1b"],["payments",2,"us-east-1b"],["audit",2,"us-east-1b"],["payments",3,"us-east-1a"],["audit",3,"us-east-1a"],["payments",4,"us-east-1a"],["audit",4,"us-east-1b"],["payments",5,"us-east-1a"],["audit",5,"us-east-1b"],["payments",6,"us-east-1a"],["audit",6,"us-east-1a"],["payments",7,"us-east-1b"],["audit",7,"us-east-1b"],["payments",8,"us-east-1a"],["audit",8,"us-east-1a"],["payments",9,null],["payments",10,"us-east-1a"],["payments",11,"us-east-1a"],["payments",12,"us-east-1a"]],"range":{"consumer-1-e4f4a31e":{"audit":[0,1,2,3,4,5,6,7,8],"payments":[0,1,2,3,4,5,6,7,8,9,10,11,12]}},"roundrobin":{"consumer-1-e4f4a31e":{"audit":[0,1,2,3,4,5,6,7,8],"payments":[0,1,2,3,4,5,6,7,8,9,10,11,12]}},"rackAffinity":[{"consumer-1-e4f4a31e":{"audit":[1,2,4,5,7,0,3,6,8],"payments":[2,7,0,1,3,4,5,6,8,10,11,12,9]}},{"consumer-1-e4f4a31e":{"audit":[1,2,4,5,7,0,3,6,8],"payments":[2,7,9,0,1,3,4,5,6,8,10,11,12]}}]}
{"name":"random 47","members":[["e",[],"us-east-1a"],["m",["t1"],"us-east-1a"]],"partitions":[["t1",0,"us-east-1a"],["t1",1,"us-east-1a"],["t1",2,"us-east-1a"],["t1",3,"us-east-1a"],["t1",4,"us-east-1a"],["t1",5,"us-east-1a"],["t1",6,"us-east-1a"],["t1",7,null],["t1",8,"us-east-1a"]],"range":{"e":{},"m":{"t1":[0,1,2,3,4,5,6,7,8]}},"roundrobin":{"e":{},"m":{"t1":[0,1,2,3,4,5,6,7,8]}},"rackAffinity":[{"e":{},"m":{"t1":[0,1,2,3,4,5,6,8,7]}}]}
{"name":"random 48","members":[["e",[],""]],"partitions":[["orders",0,""],["orders",1,""],["orders",2,"us-east-1a"],["orders",3,null],["orders",4,"us-east-1a"],["orders",5,""],["orders",6,"us-east-1a"],["payments",0,""],["payments",1,null],["payments",2,null],["payments",3,"us-east-1b"],["payments",4,"us-east-1c"],["payments",5,null],["payments",6,"us-east-1a"],["payments",7,"us-east-1b"],["payments",8,"us-east-1a"],["payments",9,null],["payments",10,"us-east-1a"],["audit",0,""],["audit",1,""]],"range":{"e":{}},"roundrobin":{"e":{}},"rackAffinity":[{"e":{}}]}
{"name":"random 49","members":[["m8",["b","a","c"],"us-east-1a"],["m10",["b"],"us-east-1a"]],"partitions":[["b",0,"us-east-1a"],["a",0,"us-east-1a"],["a",1,"us-east-1a"],["a",2,null],["a",3,"us-east-1a"],["a",4,null],["c",0,"us-east-1a"],["c",1,null],["c",2,"us-east-1a"],["c",3,"us-east-1a"],["c",4,"us-east-1a"],["c",5,"us-east-1a"],["c",6,"us-east-1a"],["c",7,null],["c",8,"us-east-1a"],["c",9,"us-east-1a"],["c",10,"us-east-1a"]],"range":{"m10":{},"m8":{"a":[0,1,2,3,4],"b":[0],"c":[0,1,2,3,4,5,6,7,8,9,10]}},"roundrobin":{"m10":{"b":[0]},"m8":{"a":[0,1,2,3,4],"c":[0,1,2,3,4,5,6,7,8,9,10]}},"rackAffinity":[{"m10":{},"m8":{"a":[0,1,3,2,4],"b":[0],"c":[0,2,3,4,5,6,8,9,10,1,7]}}]}
{"name":"random 50","members":[["e",["t0"],"us-east-1a"],["a",[],"us-east-1c"],["h",["t0"],"us-east-1b"],["i",["t0"],""]],"partitions":[["t0",0,null],["t0",1,""]],"range":{"a":{},"e":{},"h":{"t0":[0]},"i":{"t0":[1]}},"roundrobin":{"a":{},"e":{"t0":[0]},"h":{"t0":[1]},"i":{}},"rackAffinity":[{"a":{},"e":{"t0":[1]},"h":{},"i":{"t0":[0]}}]}
{"name":"random 51","members":[["g",["b","a"],"us-east-1a"],["a",["a"],"us-east-1a"],["j",["b"],"us-east-1a"]],"partitions":[["b",0,"us-east-1a"],["b",1,"us-east-1a"],["b",2,null],["b",3,"us-east-1a"],["b",4,"us-east-1a"],["b",5,"us-east-1a"],["b",6,"us-east-1a"],["b",7,"us-east-1a"],["b",8,"us-east-1a"],["b",9,null],["b",10,"us-east-1a"],["b",11,"us-east-1a"],["b",12,"us-east-1a"],["a",0,"us-east-1a"],["a",1,"us-east-1a"],["a",2,"us-east-1a"],["a",3,"us-east-1a"],["a",4,"us-east-1a"],["a",5,"us-east-1a"],["a",6,"us-east-1a"],["a",7,"us-east-1a"],["a",8,"us-east-1a"]],"range":{"a":{"a":[0,1,2,3]},"g":{"a":[4,5,6,7,8],"b":[0,1,2,3,4,5]},"j":{"b":[6,7,8,9,10,11,12]}},"roundrobin":{"a":{"a":[0,2,4,6,8]},"g":{"a":[1,3,5,7],"b":[0,2,4,6,8,10,12]},"j":{"b":[1,3,5,7,9,11]}},"rackAffinity":[{"a":{"a":[4,5,6,7]},"g":{"a":[0,1,2,3,8],"b":[0,1,3,4,5,12,2]},"j":{"b":[6,7,8,10,11,9]}}]}
{"name":"random 52","members":[["v",["b"],"us-east-1c"],["g",[],"us-east-1b"],["m",["b"],""]],"partitions":[],"range":{"g":{},"m":{},"v":{}},"roundrobin":{"g":{},"m":{},"v":{}},"rackAffinity":[{"g":{},"m":{},"v":{}}]}
{"name":"random 53","members":[["m14",["orders","payments"],"us-east-1b"],["m0",["orders","payments"],"us-east-1a"],["m8",["orders"],"us-east-1c"]],"partitions":[["orders",0,null],["orders",1,"us-east-1a"],["orders",2,"us-east-1b"],["orders",3,""],["orders",4,""],["payments",0,null],["payments",1,"us-east-1c"],["payments",2,"us-east-1b"],["payments",3,"us-east-1c"],["other",0,"us-east-1c"],["other",1,""]],"range":{"m0":{"orders":[0],"payments":[0,1]},"m14":{"orders":[1,2],"payments":[2,3]},"m8":{"orders":[3,4]}},"roundrobin":{"m0":{"orders":[0,3],"payments":[0,2]},"m14":{"orders":[1,4],"payments":[1,3]},"m8":{"orders":[2]}},"rackAffinity":[{"m0":{"orders":[1,3],"payments":[1,3]},"m14":{"orders":[2,0],"payments":[2,0]},"m8":{"orders":[4]}},{"m0":{"orders":[1,3],"payments":[3,0]},"m14":{"orders":[2,0],"payments":[2,1]},"m8":{"orders":[4]}}]}
{"name":"random 54","members":[["h",["t0","t2","t1"],"us-east-1a"],["y",["t1"],"us-east-1a"],["f",["t1","t0"],"us-east-1a"]],"partitions":[["t0",0,"us-east-1a"],["t0",1,null],["t0",2,"us-east-1a"],["t1",0,"us-east-1a"],["t1",1,"us-east-1a"],["t1",2,"us-east-1a"],["t1",3,"us-east-1a"],["t2",0,"us-east-1a"],["other",0,"us-east-1a"]],"range":{"f":{"t0":[0],"t1":[0]},"h":{"t0":[1,2],"t1":[1],"t2":[0]},"y":{"t1":[2,3]}},"roundrobin":{"f":{"t0":[0,2],"t1":[0,3]},"h":{"t0":[1],"t1":[1],"t2":[0]},"y":{"t1":[2]}},"rackAffinity":[{"f":{"t0":[2],"t1":[2]},"h":{"t0":[0,1],"t1":[0,3],"t2":[0]},"y":{"t1":[1]}}]}
{"name":"random 55","members":[["j",["b"],null],["m",["b"],"us-east-1a"],["t",["b"],"us-east-1a"],["y",["b"],"us-east-1a"]],"partitions":[["b",0,"us-east-1a"],["other",0,"us-east-1a"],["other",1,"us-east-1a"]],"range":{"j":{},"m":{},"t":{},"y":{"b":[0]}},"roundrobin":{"j":{"b":[0]},"m":{},"t":{},"y":{}},"rackAffinity":[{"j":{},"m":{"b":[0]},"t":{},"y":{}}]}
{"name":"random 56","members":[["consumer-10-ba3b423a",["t0"],"us-east-1a"],["consumer-12-f87e4a12",["t0"],"us-east-1a"]],"partitions":[["t0",0,"us-east-1a"],["t0",1,null],["t0",2,""],["t0",3,"us-east-1b"],["t0",4,"us-east-1c"],["t0",5,"us-east-1a"],["t0",6,"us-east-1b"],["t0",7,"us-east-1a"],["t0",8,null],["t0",9,null],["t0",10,""],["other",0,null],["other",1,""],["other",2,"us-east-1a"]],"range":{"consumer-10-ba3b423a":{"t0":[0,1,2,3,4]},"consumer-12-f87e4a12":{"t0":[5,6,7,8,9,10]}},"roundrobin":{"consumer-10-ba3b423a":{"t0":[0,2,4,6,8,10]},"consumer-12-f87e4a12":{"t0":[1,3,5,7,9]}},"rackAffinity":[{"consumer-10-ba3b423a":{"t0":[0,7,1,2,8,9]},"consumer-12-f87e4a12":{"t0":[5,10,3,6,4]}},{"consumer-10-ba3b423a":{"t0":[0,7,3,6,4,1]},"consumer-12-f87e4a12":{"t0":[5,2,8,9,10]}},{"consumer-10-ba3b423a":{"t0":[0,7,4,1,2,8]},"consumer-12-f87e4a12":{"t0":[5,9,10,3,6]}}]}
{"name":"random 57","members":[["consumer-11-d5487fa9",["audit","orders"],"us-east-1c"],["consumer-6-eef79bbd",["orders","payments","audit"],"us-east-1b"]],"partitions":[["orders",0,"us-east-1c"],["orders",1,"us-east-1c"],["orders",2,"us-east-1b"],["orders",3,"us-east-1a"],["orders",4,"us-east-1a"],["orders",5,"us-east-1b"],["orders",6,"us-east-1a"],["orders",7,"us-east-1c"],["orders",8,"us-east-1c"],["orders",9,"us-east-1a"],["orders",10,null],["orders",11,"us-east-1b"],["payments",0,"us-east-1b"],["payments",1,"us-east-1c"],["payments",2,null],["payments",3,"us-east-1b"],["payments",4,"us-east-1b"],["payments",5,"us-east-1c"],["payments",6,"us-east-1c"],["payments",7,"us-east-1b"],["payments",8,"us-east-1a"],["payments",9,"us-east-1c"],["payments",10,"us-east-1b"],["payments",11,"us-east-1a"],["payments",12,"us-east-1a"],["audit",0,null],["audit",1,"us-east-1b"],["audit",2,"us-east-1a"]],"range":{"consumer-11-d5487fa9":{"audit":[0],"orders":[0,1,2,3,4,5]},"consumer-6-eef79bbd":{"audit":[1,2],"orders":[6,7,8,9,10,11],"payments":[0,1,2,3,4,5,6,7,8,9,10,11,12]}},"roundrobin":{"consumer-11-d5487fa9":{"audit":[0,2],"orders":[0,2,4,6,8,10]},"consumer-6-eef79bbd":{"audit":[1],"orders":[1,3,5,7,9,11],"payments":[0,1,2,3,4,5,6,7,8,9,10,11,12]}},"rackAffinity":[{"consumer-11-d5487fa9":{"audit":[0,2],"orders":[0,1,7,8,10,3]},"consumer-6-eef79bbd":{"audit":[1],"orders":[2,5,11,4,6,9],"payments":[0,3,4,7,10,1,5,6,9,2,8,11,12]}},{"consumer-11-d5487fa9":{"audit":[0,2],"orders":[0,1,7,8,10,3]},"consumer-6-eef79bbd":{"audit":[1],"orders":[2,5,11,4,6,9],"payments":[0,3,4,7,10,2,8,11,12,1,5,6,9]}},{"consumer-11-d5487fa9":{"audit":[0,2],"orders":[0,1,7,8,10,3]},"consumer-6-eef79bbd":{"audit":[1],"orders":[2,5,11,4,6,9],"payments":[0,3,4,7,10,8,11,12,1,5,6,9,2]}},{"consumer-11-d5487fa9":{"audit":[0,2],"orders":[0,1,7,8,3,4]},"consumer-6-eef79bbd":{"audit":[1],"orders":[2,5,11,6,9,10],"payments":[0,3,4,7,10,1,5,6,9,2,8,11,12]}},{"consumer-11-d5487fa9":{"audit":[0,2],"orders":[0,1,7,8,3,4]},"consumer-6-eef79bbd":{"audit":[1],"orders":[2,5,11,6,9,10],"payments":[0,3,4,7,10,2,8,11,12,1,5,6,9]}},{"consumer-11-d5487fa9":{"audit":[0,2],"orders":[0,1,7,8,3,4]},"consumer-6-eef79bbd":{"audit":[1],"orders":[2,5,11,6,9,10],"payments":[0,3,4,7,10,8,11,12,1,5,6,9,2]}},{"consumer-11-d5487fa9":{"audit":[2,0],"orders":[0,1,7,8,10,3]},"consumer-6-eef79bbd":{"audit":[1],"orders":[2,5,11,4,6,9],"payments":[0,3,4,7,10,1,5,6,9,2,8,11,12]}},{"consumer-11-d5487fa9":{"audit":[2,0],"orders":[0,1,7,8,10,3]},"consumer-6-eef79bbd":{"audit":[1],"orders":[2,5,11,4,6,9],"payments":[0,3,4,7,10,2,8,11,12,1,5,6,9]}},{"consumer-11-d5487fa9":{"audit":[2,0],"orders":[0,1,7,8,10,3]},"consumer-6-eef79bbd":{"audit":[1],"orders":[2,5,11,4,6,9],"payments":[0,3,4,7,10,8,11,12,1,5,6,9,2]}},{"consumer-11-d5487fa9":{"audit":[2,0],"orders":[0,1,7,8,3,4]},"consumer-6-eef79bbd":{"audit":[1],"orders":[2,5,11,6,9,10],"payments":[0,3,4,7,10,1,5,6,9,2,8,11,12]}},{"consumer-11-d5487fa9":{"audit":[2,0],"orders":[0,1,7,8,3,4]},"consumer-6-eef79bbd":{"audit":[1],"orders":[2,5,11,6,9,10],"payments":[0,3,4,7,10,2,8,11,12,1,5,6,9]}},{"consumer-11-d5487fa9":{"audit":[2,0],"orders":[0,1,7,8,3,4]},"consumer-6-eef79bbd":{"audit":[1],"orders":[2,5,11,6,9,10],"payments":[0,3,4,7,10,8,11,12,1,5,6,9,2]}}]}
{"name":"random 58","members":[["consumer-6-ab6a0700",["a"],"us-east-1a"],["consumer-5-8aa6d007",["b"],"us-east-1a"]],"partitions":[["b",0,"us-east-1a"],["b",1,"us-east-1a"],["b",2,"us-east-1a"],["b",3,"us-east-1a"],["b",4,"us-east-1a"],["b",5,"us-east-1a"],["b",6,null],["b",7,null],["b",8,"us-east-1a"],["b",9,"us-east-1a"],["b",10,"us-east-1a"],["b",11,"us-east-1a"],["a",0,"us-east-1a"],["a",1,"us-east-1a"],["a",2,"us-east-1a"],["a",3,"us-east-1a"],["a",4,null],["a",5,"us-east-1a"],["a",6,"us-east-1a"]],"range":{"consumer-5-8aa6d007":{"b":[0,1,2,3,4,5,6,7,8,9,10,11]},"consumer-6-ab6a0700":{"a":[0,1,2,3,4,5,6]}},"roundrobin":{"consumer-5-8aa6d007":{"b":[0,1,2,3,4,5,6,7,8,9,10,11]},"consumer-6-ab6a0700":{"a":[0,1,2,3,4,5,6]}},"rackAffinity":[{"consumer-5-8aa6d007":{"b":[0,1,2,3,4,5,8,9,10,11,6,7]},"consumer-6-ab6a0700":{"a":[0,1,2,3,5,6,4]}}]}
{"name":"random 59","members":[["b",[],"us-east-1a"]],"partitions":[["t0",0,"us-east-1b"],["t0",1,"us-east-1b"],["t0",2,"us-east-1a"],["t0",3,"us-east-1b"]],"range":{"b":{}},"roundrobin":{"b":{}},"rackAffinity":[{"b":{}}]}
{"name":"random 60","members":[["m0",["payments","audit"],"us-east-1a"],["m11",["orders","payments","audit"],"us-east-1c"],["m16",["orders","audit"],null],["m1",["orders","audit","payments"],"us-east-1c"]],"partitions":[["orders",0,""],["orders",1,"us-east-1c"],["orders",2,"us-east-1b"],["orders",3,"us-east-1a"],["payments",0,""],["audit",0,""],["audit",1,null],["audit",2,""],["audit",3,"us-east-1a"],["audit",4,"us-east-1b"],["other",0,""]],"range":{"m0":{"audit":[0]},"m1":{"audit":[1],"orders":[0]},"m11":{"audit":[2],"orders":[1],"payments":[0]},"m16":{"audit":[3,4],"orders":[2,3]}},"roundrobin":{"m0":{"audit":[0,4],"payments":[0]},"m1":{"audit":[1],"orders":[0,3]},"m11":{"audit":[2],"orders":[1]},"m16":{"audit":[3],"orders":[2]}},"rackAffinity":[{"m0":{"audit":[3],"payments":[0]},"m1":{"audit":[2],"orders":[2]},"m11":{"audit":[4],"orders":[1,3]},"m16":{"audit":[0,1],"orders":[0]}},{"m0":{"audit":[3],"payments":[0]},"m1":{"audit":[2],"orders":[3]},"m11":{"audit":[4],"orders":[1,2]},"m16":{"audit":[0,1],"orders":[0]}},{"m0":{"audit":[3],"payments":[0]},"m1":{"audit":[4],"orders":[2]},"m11":{"audit":[2],"orders":[1,3]},"m16":{"audit":[0,1],"orders":[0]}},{"m0":{"audit":[3],"payments":[0]},"m1":{"audit":[4],"orders":[3]},"m11":{"audit":[2],"orders":[1,2]},"m16":{"audit":[0,1],"orders":[0]}}]}
`.trim().split("\n").map((line) => JSON.parse(line));

function membersOf(vector: Vector): GroupMember[] {
  return vector.members.map(([id, topics, rack]) => ({
    id,
    topics,
    userData: rack === null ? null : utf8.encode(rack),
  }));
}

function partitionsOf(vector: Vector): GroupPartition[] {
  return vector.partitions.map(([topic, partition, rack], i) => ({
    topic,
    partition,
    leader: i % 3,
    leaderRack: rack,
  }));
}

describe("kafka-go's assignments", () => {
  test("the vectors are all there", () => {
    assert.equal(VECTORS.length, 73);
  });

  for (const vector of VECTORS) {
    test(vector.name, () => {
      const members = membersOf(vector);
      const partitions = partitionsOf(vector);
      assert.deepEqual(
        plain(new RangeGroupBalancer().assign(members, partitions)),
        sortKeys(vector.range),
        "range",
      );
      assert.deepEqual(
        plain(new RoundRobinGroupBalancer().assign(members, partitions)),
        sortKeys(vector.roundrobin),
        "roundrobin",
      );
      const ours = plain(
        new RackAffinityGroupBalancer().assign(members, partitions),
      );
      const theirs = vector.rackAffinity.map(sortKeys);
      assert.ok(
        theirs.some((result) => isDeepStrictEqual(ours, result)),
        `rack-affinity: ${JSON.stringify(ours)} is none of kafka-go's ${
          JSON.stringify(theirs)
        }`,
      );
    });
  }
});

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

describe("protocol names and user data", () => {
  test("range and roundrobin as the Java client and librdkafka name them", () => {
    assert.equal(new RangeGroupBalancer().protocolName, "range");
    assert.equal(new RoundRobinGroupBalancer().protocolName, "roundrobin");
  });

  test("range and roundrobin send no user data", () => {
    const range: GroupBalancer = new RangeGroupBalancer();
    const roundRobin: GroupBalancer = new RoundRobinGroupBalancer();
    assert.equal(range.userData?.(["t"]) ?? null, null);
    assert.equal(roundRobin.userData?.(["t"]) ?? null, null);
  });

  test("rack-affinity sends its rack in UTF-8, empty when none", () => {
    const balancer = new RackAffinityGroupBalancer({ rack: "zone-é" });
    assert.equal(balancer.protocolName, "rack-affinity");
    assert.equal(balancer.rack, "zone-é");
    assert.deepEqual(balancer.userData(["t"]), utf8.encode("zone-é"));
    assert.deepEqual(
      new RackAffinityGroupBalancer().userData(["t"]),
      new Uint8Array(0),
    );
  });

  test("a rack that is not a string is a TypeError", () => {
    assert.throws(
      () => new RackAffinityGroupBalancer({ rack: 1 as unknown as string }),
      (error: unknown) =>
        error instanceof TypeError &&
        /^Cannot create RackAffinityGroupBalancer: "rack" must be a string, got 1 \(number\)$/
          .test(error.message),
    );
    // Not an object, or a misspelt name: the rack would be "" (none).
    assert.throws(
      () => new RackAffinityGroupBalancer(5 as never),
      /^TypeError: Cannot create RackAffinityGroupBalancer: the options must be an object, got 5 \(number\)$/,
    );
    assert.throws(
      () => new RackAffinityGroupBalancer({ rakc: "a" } as never),
      /^TypeError: Cannot create RackAffinityGroupBalancer: unknown option "rakc"; did you mean "rack"\?$/,
    );
  });
});

describe("edge cases", () => {
  const balancers: GroupBalancer[] = [
    new RangeGroupBalancer(),
    new RoundRobinGroupBalancer(),
    new RackAffinityGroupBalancer(),
  ];

  for (const balancer of balancers) {
    test(`${balancer.protocolName}: no members, no assignments`, () => {
      const partitions = [{ topic: "t", partition: 0, leader: 1 }];
      assert.equal(balancer.assign([], partitions).size, 0);
    });

    test(`${balancer.protocolName}: leaves its input alone and shares no arrays with it`, () => {
      const members: GroupMember[] = [
        { id: "b", topics: ["t", "u"], userData: null },
        { id: "a", topics: ["t"], userData: null },
      ];
      const partitions: GroupPartition[] = [
        { topic: "u", partition: 1, leader: 1 },
        { topic: "t", partition: 0, leader: 1 },
        { topic: "t", partition: 1, leader: 2 },
        { topic: "u", partition: 0, leader: 2 },
      ];
      const before = JSON.stringify([members, partitions]);
      const first = balancer.assign(members, partitions);
      assert.equal(JSON.stringify([members, partitions]), before);
      for (const topics of first.values()) {
        for (const list of topics.values()) list.push(99);
      }
      const second = balancer.assign(members, partitions);
      for (const topics of second.values()) {
        for (const list of topics.values()) assert.ok(!list.includes(99));
      }
    });
  }
});

/** A small seeded generator (mulberry32), so that failures reproduce. */
function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor(((t ^ (t >>> 14)) >>> 0) / 2 ** 32 * n);
  };
}

function randomGroup(
  next: (n: number) => number,
  maxMembers: number,
  maxPartitions: number,
): { members: GroupMember[]; partitions: GroupPartition[] } {
  const topics = ["t0", "t1", "t2", "t3"].slice(0, 1 + next(4));
  const racks = ["a", "b", "c", ""];
  const members: GroupMember[] = [];
  const count = 1 + next(maxMembers);
  for (let i = 0; i < count; i++) {
    const subscribed = topics.filter(() => next(3) > 0);
    const rack = next(5) === 0 ? null : racks[next(racks.length)];
    members.push({
      id: `member-${next(1000)}-${i}`,
      topics: subscribed,
      userData: rack === null ? null : utf8.encode(rack),
    });
  }
  const partitions: GroupPartition[] = [];
  for (const topic of [...topics, "unsubscribed"]) {
    const n = next(maxPartitions + 1);
    for (let partition = 0; partition < n; partition++) {
      const leader = next(4);
      partitions.push({
        topic,
        partition,
        leader,
        leaderRack: next(6) === 0 ? null : racks[leader],
      });
    }
  }
  // Sometimes shuffled: the balancers must not rely on the order.
  if (next(2)) {
    for (let i = partitions.length - 1; i > 0; i--) {
      const j = next(i + 1);
      [partitions[i], partitions[j]] = [partitions[j], partitions[i]];
    }
  }
  return { members, partitions };
}

/**
 * Every partition of a subscribed topic assigned exactly once, to a member
 * subscribed to it; nothing else assigned; every member listed; and per
 * topic, its members' shares differ by at most one partition.
 */
function assertCompleteAndBalanced(
  members: readonly GroupMember[],
  partitions: readonly GroupPartition[],
  assignments: GroupAssignments,
): void {
  assert.deepEqual(
    [...assignments.keys()].sort(),
    members.map((m) => m.id).sort(),
  );
  const owners = new Map<string, string>();
  for (const [id, topics] of assignments) {
    const member = members.find((m) => m.id === id)!;
    for (const [topic, list] of topics) {
      assert.ok(list.length > 0, `${id} has an empty list for ${topic}`);
      assert.ok(member.topics.includes(topic), `${id} got ${topic}`);
      for (const partition of list) {
        const key = `${topic}/${partition}`;
        assert.ok(!owners.has(key), `${key} assigned twice`);
        owners.set(key, id);
      }
    }
  }
  const subscribed = new Set(members.flatMap((m) => m.topics));
  const expected = partitions
    .filter((p) => subscribed.has(p.topic))
    .map((p) => `${p.topic}/${p.partition}`)
    .sort();
  assert.deepEqual([...owners.keys()].sort(), expected);

  for (const topic of subscribed) {
    const counts = members
      .filter((m) => m.topics.includes(topic))
      .map((m) => assignments.get(m.id)!.get(topic)?.length ?? 0);
    const n = partitions.filter((p) => p.topic === topic).length;
    const floor = Math.floor(n / counts.length);
    for (const count of counts) {
      assert.ok(
        count === floor || count === floor + 1,
        `${topic}: shares ${counts} of ${n}`,
      );
    }
  }
}

describe("complete and balanced, for random inputs", () => {
  const balancers: GroupBalancer[] = [
    new RangeGroupBalancer(),
    new RoundRobinGroupBalancer(),
    new RackAffinityGroupBalancer(),
  ];
  for (const balancer of balancers) {
    test(balancer.protocolName, () => {
      const next = random(13);
      for (let run = 0; run < 500; run++) {
        const { members, partitions } = randomGroup(next, 8, 20);
        const assignments = balancer.assign(members, partitions);
        assertCompleteAndBalanced(members, partitions, assignments);
        assert.deepEqual(
          plain(balancer.assign(members, partitions)),
          plain(assignments),
          "the same input, the same result",
        );
      }
    });

    test(`${balancer.protocolName}: a large group`, () => {
      const next = random(42);
      const { members, partitions } = randomGroup(next, 300, 1000);
      assertCompleteAndBalanced(
        members,
        partitions,
        balancer.assign(members, partitions),
      );
    });
  }
});
