// Medusa loads a plugin's subscribers from .medusa/server/src/subscribers (the output
// folder of `medusa plugin:build`); this plugin is plain JavaScript with no build step,
// so the folder only points at the code in lib/.
module.exports = require("../../../../lib/subscriber")
