// The plugin's code for use outside Medusa (its tests, a merchant's own scripts).
module.exports = require("./lib/deliver")
