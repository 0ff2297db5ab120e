// Where the pages find the Persona API. Locally the API is served from the same origin;
// the CDK deployment replaces this file with the deployed API's URL.
window.PERSONA_API = "";
