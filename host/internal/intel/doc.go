// Package intel is collaborative intelligence: the user's own AI answering
// with the context trusted peers chose to share, and peers' models running
// prompts for each other, always behind the firewall.
//
// [Responder] answers peers (it implements network.Intel): it shares only
// what the firewall lets a peer see of the personal context, at any depth,
// lists only the models a peer may use, and runs a peer's prompt only with
// the "compute" permission and the model allowed.
//
// [Asker] answers the user (`dpc ask`): it assembles the prompt from the
// user's own context, filtered through an AI scope, and each named peer's
// shared context, each block marked with its source (see sdk/promptctx);
// runs it on a local model or, with On, on a peer's; and reports as
// [Event]s the sources used, the peers that did not contribute, and the
// answer as it streams.
package intel
