// Where the pages find the Persona API. Locally the API is served from the same origin;
// the CDK deployment replaces this file with the deployed API's URL.
window.PERSONA_API = "";
// Locally the runtime stands in for the retailer's sign-in (a signed session for the customer id typed
// in the demo shop's form: the demo has no passwords). Deployed, the retailer's own sign-in does this.
window.PERSONA_STOREFRONT_SIGN_IN = "/local/storefront-sessions";
