/** Private keys of @nex/routes. */
export const kRouteTable = Symbol('@nex/routes.table')
