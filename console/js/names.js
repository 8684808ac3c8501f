import { api } from "./api.js";
import { h } from "./dom.js";

// Names beside ids: a session names its computer as the client's admin named it, its id in small type.

const computerNames = new Map(); // group id → Map(computer id → name)

/** The names of a client's computers, once per client (forgotten when an admin renames or moves one). */
export async function loadComputerNames(group) {
  if (!group || computerNames.has(group)) return;
  try {
    const { data } = await api("GET", `/groups/${encodeURIComponent(group)}/computers`);
    computerNames.set(group, new Map((data.computers || []).map((c) => [c.computer_id, c.name])));
  } catch (failure) {
    computerNames.set(group, new Map()); // ids alone: the sessions still show
  }
}

export function forgetComputerNames() {
  computerNames.clear();
}

export function computerName(group, computerId) {
  return computerNames.get(group)?.get(computerId) || null;
}

/** "Reception PC · pc-0042", or the id alone when the computer has no name. */
export function computerLabel(group, computerId) {
  const name = computerName(group, computerId);
  return name && name !== computerId ? [h("span", { class: "name" }, name), " ", h("small", { class: "id" }, computerId)] : computerId;
}
