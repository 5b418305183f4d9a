/** What `act` threw, failing the test when it throws nothing. */
export function thrown<E = Error>(act: () => unknown): E {
  try {
    act();
  } catch (error) {
    return error as E;
  }
  throw new Error('expected it to throw, but it returned');
}
