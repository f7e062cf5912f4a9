// Unknown URLs: the error page, which says "Not found" and links back to the rooms.
export { default, head } from './_error.ts'
