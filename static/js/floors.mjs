// The floors a client will not go below (docs/protocol.md, "Floors"), with no libsodium: the
// reporter pages check the server's parameters with it before deriving or sealing anything.
// static/js/protocol2.mjs re-exports everything here.

import { CryptoError } from "./worker-client.mjs";

/** Installation parameters below one of these floors are refused (docs/protocol.md, "Floors"). */
export const FLOORS = Object.freeze({ opslimit: 3, memlimit: 67108864, padBlock: 1024 });

/** The doc's sentence for each floor, in the table's order. */
export const FLOOR_SENTENCES = Object.freeze({
  opslimit: "The server asks for an Argon2id cost below 3 passes, which this client refuses.",
  memlimit: "The server asks for less than 64 MiB of Argon2id memory, which this client refuses.",
  padBlock: "The server asks for a padding block below 1024 bytes, which this client refuses.",
});

/** Installation parameters below this client's floors; `parameter` names the one that decided. */
export class FloorError extends CryptoError {
  constructor(message, parameter = null) {
    super(message);
    this.parameter = parameter;
  }
}
Object.defineProperty(FloorError.prototype, "name", { value: "FloorError", writable: true, configurable: true });

/** FloorError with the doc's sentence when the server's parameters are below this client's floors. */
export function checkFloors(opslimit, memlimit, padBlock) {
  const below = (value, floor) => typeof value !== "number" || !Number.isInteger(value) || value < floor;
  for (const [parameter, value] of [["opslimit", opslimit], ["memlimit", memlimit], ["padBlock", padBlock]]) {
    if (below(value, FLOORS[parameter])) throw new FloorError(FLOOR_SENTENCES[parameter], parameter);
  }
}

/**
 * Check `GET /api/v1/config`'s `argon2id` and `pad_block` against the floors. Throws FloorError
 * whose message is `strings.floor_<parameter>` when the page gives that translation, else the
 * doc's English sentence.
 */
export function checkConfigFloors(config, strings = {}) {
  try {
    checkFloors(config?.argon2id?.opslimit, config?.argon2id?.memlimit, config?.pad_block);
  } catch (err) {
    const translated = err instanceof FloorError ? strings[`floor_${err.parameter}`] : null;
    if (typeof translated === "string" && translated) throw new FloorError(translated, err.parameter);
    throw err;
  }
}
