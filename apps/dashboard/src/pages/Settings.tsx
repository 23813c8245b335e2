import { PageTitle } from '../components/ui';

/** Account-wide Access settings: strict service-token mode, inactivity cleanup, signing keys. */
export function SettingsPage() {
  return (
    <div className="page">
      <PageTitle crumbs={['Access', 'Settings']}>Settings</PageTitle>
    </div>
  );
}
