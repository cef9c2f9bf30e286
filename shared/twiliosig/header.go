package twiliosig

// Header is the request header carrying Twilio's signature.
const Header = "X-Twilio-Signature"
