import { openMongoStoreForTest } from "../harness/mongo.js";
import { describeStoreContract } from "./store.contract.js";

describeStoreContract("mongo", openMongoStoreForTest);
