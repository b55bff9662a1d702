export { type Command, type CommandIo, EXIT, UsageError } from './command.js'
export { main } from './main.js'
